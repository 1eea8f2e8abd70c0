"""One running site: blueprint, overlays and database, and the studio's metadata changes."""
