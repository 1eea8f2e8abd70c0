# For mypy only: Python never reads a .pyi, so platform/ stays a namespace package at run time
# (no __init__.py, which would shadow the standard library's `platform`). Without this stub mypy
# resolves `atrium.metadata.schemas` to the schemas/ folder instead of schemas.py.
