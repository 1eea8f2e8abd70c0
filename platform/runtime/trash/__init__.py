"""The recycle bin: deleted records kept whole until restored or purged."""
