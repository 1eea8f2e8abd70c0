"""Reports people submit each day, week or month (periodic_reports/<name>.yaml)."""
