"""What approvals tell people, in zh and en."""
from __future__ import annotations

from typing import Sequence

from atrium.runtime.automation.messages import text_of

MESSAGES: dict[str, dict[str, str]] = {
    "locked": {"en": "Locked while waiting for approval by {names}", "zh": "等待 {names} 审批期间不可修改"},
    "reserved": {"en": "Only an approval decision sets {field} to {value}",
                 "zh": "只有审批决定才能将“{field}”设为“{value}”"},
    "no_manager": {"en": "No one can approve this: the owner has no manager",
                   "zh": "无人可以审批：负责人没有上级经理"},
    "no_owner": {"en": "No one can approve this: the record has no owner", "zh": "无人可以审批：该记录没有负责人"},
    "no_role_user": {"en": "No one can approve this: no active user has the role {role}",
                     "zh": "无人可以审批：没有在职用户拥有“{role}”角色"},
    "no_field_user": {"en": "No one can approve this: {field} names no active user",
                      "zh": "无人可以审批：“{field}”未指定在职用户"},
    "no_such_rule": {"en": "Records of this kind have no approval '{rule}' that a person can request",
                     "zh": "此类记录没有可以提交的审批“{rule}”"},
    "not_requestable": {"en": "Approval cannot be requested for this record in its present state",
                        "zh": "该记录当前状态下不能提交审批"},
    "may_not_request": {"en": "You may not request approval of this record", "zh": "您无权为该记录提交审批"},
    "already_pending": {"en": "Approval was already requested and is waiting for {names}",
                        "zh": "已提交审批，正在等待 {names} 审批"},
    "no_approval": {"en": "No such approval", "zh": "审批不存在"},
    "bad_decision": {"en": "A decision is either approve or reject", "zh": "审批结果只能是批准或驳回"},
    "was_approved": {"en": "This request was already approved", "zh": "该审批申请已被批准"},
    "was_rejected": {"en": "This request was already rejected", "zh": "该审批申请已被驳回"},
    "was_withdrawn": {"en": "This request was withdrawn", "zh": "该审批申请已撤回"},
    "not_approver": {"en": "Only {names} can decide this approval", "zh": "只有 {names} 可以审批"},
    "may_not_withdraw": {"en": "Only the requester, the record's owner or an administrator can withdraw this request",
                         "zh": "只有申请人、记录负责人或管理员可以撤回该审批申请"},
    "requested": {"en": "{label}: {title}", "zh": "{label}：{title}"},
    "decided_approved": {"en": "{who} approved: {text}", "zh": "{who} 已批准：{text}"},
    "decided_rejected": {"en": "{who} rejected: {text}", "zh": "{who} 已驳回：{text}"},
    "with_comment": {"en": "{text} Comment: {comment}", "zh": "{text} 意见：{comment}"},
    "and_more": {"en": "{names} and {count} more", "zh": "{names} 等 {total} 人"},
    "nobody": {"en": "nobody", "zh": "无人"},
}
LOCALES = ("en", "zh")  # every notification carries both
SEPARATORS = {"en": ", ", "zh": "、"}


def approval_message(key: str, locale: str, **params: object) -> str:
    return text_of(MESSAGES, key, locale, **params)


def names_text(names: Sequence[str], locale: str, shown: int = 3) -> str:
    """A few people's names as one phrase ("Wang Fang, Li Na and 4 more")."""
    separator = SEPARATORS.get(locale.split("-")[0], ", ")
    if not names:
        return approval_message("nobody", locale)
    if len(names) <= shown:
        return separator.join(names)
    return approval_message("and_more", locale, names=separator.join(names[:shown]),
                            count=len(names) - shown, total=len(names))
