"""What the public pool and conversions tell people, by code (msgids of the `atrium` catalog)."""
from __future__ import annotations

from atrium.translation import N_, word

MESSAGES: dict[str, str] = {
    "no_pool": N_("Records of this kind have no public pool"),
    "pool_taken": N_("Someone else claimed this record first"),
    "pool_yours": N_("You already own this record"),
    "pool_locked": N_("This record is locked: it stays with its owner and cannot be claimed or released"),
    "pool_max_owned": N_("You already own {owned} of these records, the most one person may hold ({max}); "
                         "release some before claiming more"),
    "pool_daily_cap": N_("You have claimed {cap} records today, the daily limit; claim more tomorrow"),
    "pool_cooldown": N_("This record left your hands on {left}; you may claim it again from {until}"),
    "pool_not_owned": N_("This record is already in the public pool"),
    "pool_not_yours": N_("Only the owner, or someone who may change the record, can release it"),
    "pool_no_claim": N_("Your role may not claim from this pool"),
    "convert_none": N_("Records of this kind cannot be converted"),
    "convert_done": N_("This record has already been converted"),
    "convert_not_now": N_("This record cannot be converted in its present state"),
    "convert_required": N_("This part of the conversion cannot be left out"),
    "convert_duplicates": N_("Records like this already exist: link one of them, or confirm that a new one "
                             "should be created"),
    "convert_bad_choice": N_("Pick one of the records offered, or create a new one"),
}


def pool_message(key: str, locale: str, **params: object) -> str:
    return word(MESSAGES[key], locale, **params)
