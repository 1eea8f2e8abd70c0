"""The global search's page, the header box's results and its JSON API (runtime/search)."""
