"""List queries and the condition language, with relative periods."""
