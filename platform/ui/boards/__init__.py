"""Kanban boards and calendars."""
