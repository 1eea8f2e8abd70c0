"""Duplicate warnings: values normalised for comparing, and the records that look alike."""
