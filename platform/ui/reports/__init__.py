"""Report pages, dashboards, widgets and charts."""
