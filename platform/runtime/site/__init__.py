"""One running site: blueprint, overlays and database, the services wired over them (the composition
root: site.py, services.py), and the studio's metadata changes."""
