"""The pages' words: word/pword from atrium.translation (the `atrium` gettext catalog), the locale
formatting the templates use, and the msgid tables of words picked at run time (periods, months, weekdays)."""
from __future__ import annotations

from atrium.translation import (  # noqa: F401  (the pages' one import for words and formats)
    N_,
    NC_,
    Words,
    format_date,
    format_datetime,
    format_money,
    format_number,
    nword,
    pword,
    word,
)

PERIOD_WORDS: dict[str, str] = {
    "today": N_("Today"),
    "yesterday": N_("Yesterday"),
    "this_week": N_("This week"),
    "last_week": N_("Last week"),
    "this_month": N_("This month"),
    "last_month": N_("Last month"),
    "this_quarter": N_("This quarter"),
    "last_quarter": N_("Last quarter"),
    "this_year": N_("This year"),
    "last_year": N_("Last year"),
    "last_7_days": N_("Last 7 days"),
    "last_30_days": N_("Last 30 days"),
    "last_90_days": N_("Last 90 days"),
    "next_7_days": N_("Next 7 days"),
    "next_30_days": N_("Next 30 days"),
    "next_90_days": N_("Next 90 days"),
}
MONTH_WORDS: tuple[str, ...] = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"),
                                N_("July"), N_("August"), N_("September"), N_("October"), N_("November"),
                                N_("December"))
WEEKDAY_WORDS: tuple[str, ...] = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def month_name(month: int, locale: str) -> str:
    return word(MONTH_WORDS[month - 1], locale)


def weekday_name(weekday: int, locale: str) -> str:
    """weekday 1 is Monday, as date.isoweekday() counts."""
    return word(WEEKDAY_WORDS[weekday - 1], locale)
