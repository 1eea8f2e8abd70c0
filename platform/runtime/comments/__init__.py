"""Comments on records, with @mentions that notify the people named (service.py, mentions.py)."""
