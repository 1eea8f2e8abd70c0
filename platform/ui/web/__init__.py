"""The web application: app, sessions and CSRF, templating, interface words, value presentation."""
