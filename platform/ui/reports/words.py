"""The periods report pages offer and the period before each (their words: i18n.PERIOD_WORDS)."""
from __future__ import annotations

PERIODS = ("this_week", "last_week", "this_month", "last_month", "this_quarter", "last_quarter",
           "this_year", "last_year", "last_30_days", "last_90_days")
PREVIOUS = {"today": "yesterday", "this_week": "last_week", "this_month": "last_month",
            "this_quarter": "last_quarter", "this_year": "last_year"}
