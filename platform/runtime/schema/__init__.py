"""The database as the model needs it: engines, tables, migrations, change counters, bulk statements."""
