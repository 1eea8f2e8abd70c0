"""The approvals' words chosen at run time, as msgid tables (their Chinese is in the `atrium` catalog)."""
from __future__ import annotations

from atrium.translation import N_, NC_

STATUS_WORDS: dict[str, str] = {
    "pending": N_("Pending"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
    "voided": N_("Void"),
}
# a decision in the record's timeline ("Approved" there is 审批通过, not the status 已通过)
TIMELINE_WORDS: dict[str, tuple[str, str]] = {
    "approved": NC_("timeline", "Approved"),
    "rejected": NC_("timeline", "Rejected"),
    "withdrawn": NC_("timeline", "Approval withdrawn"),
    "voided": NC_("timeline", "Approval void"),
}
