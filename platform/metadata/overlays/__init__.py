"""Overlays: what a consultant's folder changes against its base (diff, lock, upgrade, scaffold, minimal overlays, plain words)."""
