"""The global search: one box over every entity the caller may read. index.py: the index the
database keeps current; service.py: the query under the caller's access."""
