"""Overlays: what a consultant's folder changes against its base.

Diff, lock, upgrade, scaffold, minimal overlays and plain words.
"""
