"""The runtime's messages to people by code (the codes errors carry), as msgids of the `atrium` catalog."""
from __future__ import annotations

from atrium.translation import N_, word

MESSAGES: dict[str, str] = {
    "required": N_("This field is required"),
    "required_in_stage": N_("Required to enter stage {stage}"),
    "unknown_field": N_("There is no field '{field}'"),
    "computed": N_("This field is computed and cannot be set"),
    "not_text": N_("Must be text"),
    "too_long": N_("At most {max} characters"),
    "not_integer": N_("Must be a whole number"),
    "not_number": N_("Must be a number"),
    "too_small": N_("Must be at least {min}"),
    "too_large": N_("Must be at most {max}"),
    "not_boolean": N_("Must be yes or no"),
    "not_date": N_("Must be a date like 2026-03-31"),
    "not_datetime": N_("Must be a date and time like 2026-03-31 14:30"),
    "not_email": N_("Must be an email address"),
    "not_phone": N_("Must be a phone number"),
    "not_url": N_("Must be a web address starting with http:// or https://"),
    "not_option": N_("'{value}' is not one of the choices"),
    "not_stage": N_("'{value}' is not a stage"),
    "transition": N_("Cannot move from {source} to {target}"),
    "not_reference": N_("Must be the id of a record"),
    "missing_reference": N_("The linked record does not exist"),
    "missing_user": N_("No such user"),
    "not_location": N_("Must be a location (latitude, longitude)"),
    "check_failed": N_("This record does not pass the check '{check}'"),
    "duplicate": N_("Another record already has this value"),
    "duplicates_found": N_("Records like this one already exist: open one of them, or save anyway"),
    "stale": N_("Someone else saved this record first; reload to see their changes"),
    "restricted": N_("Cannot delete: {count} {entity} record(s) still link to it"),
    "not_found": N_("No such record"),
    "external_key_differs": N_("The body's key differs from the key in the address"),
    "upserts_refused": N_("{count} record(s) have errors; nothing was saved"),
    "line_of_another": N_("This line belongs to another record"),
    "lines_invalid": N_("Some lines have errors (shown in their rows); nothing was saved"),
    "field_not_allowed": N_("You may not change this field"),
    "owner_out_of_reach": N_("You can only give records to yourself or your team"),
    "bulk_not_yours": N_("You may not change this record"),
    "bulk_bad_ids": N_("Choose from 1 to {max} records"),
    "bulk_refused": N_("{count} of the chosen records cannot be changed, so none was"),
    "bulk_too_many": N_("More than {max} records match; narrow the filter first"),
    "automation_failed": N_("Automation '{rule}' failed, so nothing was saved: {reason}"),
    "restore_refused": N_("Cannot restore {entity}: {reason}"),
    "restore_field": N_("{field}: {reason}"),
    "restore_id_taken": N_("Cannot restore: {entity} #{id} exists again"),
    "restore_entity_gone": N_("Cannot restore: the blueprint no longer has {entity} records"),
    "restore_forbidden": N_("You may not create these records, so you cannot restore them"),
    "automation_too_deep": N_("automations triggered one another more than {depth} levels deep"),
}


def message(key: str, locale: str, **params: object) -> str:
    return word(MESSAGES[key], locale, **params)
