"""Reports: a report document compiled to one SQL statement and run under the viewer's scope."""
