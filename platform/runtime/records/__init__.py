"""The records service: the one write path (coercion, defaults, formulas, checks, stage rules, audit, rollups)."""
