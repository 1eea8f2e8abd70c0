"""The records service: the one write path (coercion, defaults, formulas, checks, stage rules, audit, rollups),
its steps in one pipeline (pipeline.py), and what it asks of the services above it (hooks.py)."""
