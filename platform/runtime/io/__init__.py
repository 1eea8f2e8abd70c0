"""CSV import and CSV/JSON export."""
