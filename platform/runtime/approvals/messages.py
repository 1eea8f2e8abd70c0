"""What approvals tell people, by code (msgids of the `atrium` catalog)."""
from __future__ import annotations

from typing import Sequence

from atrium.translation import N_, word

MESSAGES: dict[str, str] = {
    "locked": N_("Locked while waiting for approval by {names}"),
    "reserved": N_("Only an approval decision sets {field} to {value}"),
    "no_manager": N_("No one can approve this: the owner has no manager"),
    "no_owner": N_("No one can approve this: the record has no owner"),
    "no_role_user": N_("No one can approve this: no active user has the role {role}"),
    "no_field_user": N_("No one can approve this: {field} names no active user"),
    "no_such_rule": N_("Records of this kind have no approval '{rule}' that a person can request"),
    "not_requestable": N_("Approval cannot be requested for this record in its present state"),
    "may_not_request": N_("You may not request approval of this record"),
    "already_pending": N_("Approval was already requested and is waiting for {names}"),
    "no_approval": N_("No such approval"),
    "bad_decision": N_("A decision is either approve or reject"),
    "reason_required": N_("A rejection needs a reason: say in the comment what must change"),
    "voided": N_("The approval of {text} is void: {fields} changed after it was approved. Ask for approval again."),
    "was_voided": N_("This approval is void: what it approved has changed"),
    "was_approved": N_("This request was already approved"),
    "was_rejected": N_("This request was already rejected"),
    "was_withdrawn": N_("This request was withdrawn"),
    "not_approver": N_("Only {names} can decide this approval"),
    "may_not_withdraw": N_("Only the requester, the record's owner or an administrator can withdraw this request"),
    "requested": N_("{label}: {title}"),
    "decided_approved": N_("{who} approved: {text}"),
    "decided_rejected": N_("{who} rejected: {text}"),
    "with_comment": N_("{text} Comment: {comment}"),
    "and_more": N_("{names} and {count} more"),
    "nobody": N_("nobody"),
}
LOCALES = ("en", "zh")  # every notification carries both
SEPARATORS = {"en": ", ", "zh": "、"}


def approval_message(key: str, locale: str, **params: object) -> str:
    return word(MESSAGES[key], locale, **params)


def names_text(names: Sequence[str], locale: str, shown: int = 3) -> str:
    """A few people's names as one phrase ("Wang Fang, Li Na and 4 more")."""
    separator = SEPARATORS.get(locale.split("-")[0], ", ")
    if not names:
        return approval_message("nobody", locale)
    if len(names) <= shown:
        return separator.join(names)
    return approval_message("and_more", locale, names=separator.join(names[:shown]),
                            count=len(names) - shown, total=len(names))
