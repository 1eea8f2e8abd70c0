"""The words of approvals in the pages and the API, in zh and en (added to the interface's words)."""
from __future__ import annotations

from atrium.ui.web.i18n import add_words

APPROVAL_WORDS: dict[str, dict[str, str]] = {
    "approvals": {"en": "Approvals", "zh": "审批"},
    "approvals_waiting_count": {"en": "{count} waiting for your approval", "zh": "{count} 条待您审批"},
    "approval_pending_rule": {"en": "Waiting for approval: {rule}", "zh": "等待审批：{rule}"},
    "approval_status_pending": {"en": "Pending", "zh": "审批中"},
    "approval_status_approved": {"en": "Approved", "zh": "已通过"},
    "approval_status_rejected": {"en": "Rejected", "zh": "已驳回"},
    "approval_status_withdrawn": {"en": "Withdrawn", "zh": "已撤回"},
    "approval_requested_by_at": {"en": "Requested by {who} at {at}", "zh": "{who} 于 {at} 发起"},
    "approval_decided_by_at": {"en": "{outcome} by {who} at {at}", "zh": "{who} 于 {at} {outcome}"},
    "approval_approvers": {"en": "Approvers", "zh": "审批人"},
    "approval_locked": {"en": "The record is locked while it waits for approval.",
                        "zh": "审批期间，此记录已锁定，不能修改。"},
    "approval_locked_fields": {"en": "Locked while it waits for approval: {fields}",
                               "zh": "审批期间以下字段已锁定：{fields}"},
    "approval_comment": {"en": "Comment", "zh": "审批意见"},
    "approval_approve": {"en": "Approve", "zh": "通过"},
    "approval_reject": {"en": "Reject", "zh": "驳回"},
    "approval_withdraw": {"en": "Withdraw", "zh": "撤回"},
    "approval_confirm_withdraw": {"en": "Withdraw this approval request?", "zh": "确定撤回此审批申请吗？"},
    "approval_request": {"en": "Request approval: {rule}", "zh": "提交审批：{rule}"},
    "approval_waiting_for_me": {"en": "Waiting for your approval", "zh": "待我审批"},
    "approval_requested_by_me": {"en": "Requested by me", "zh": "我发起的"},
    "approval_decided_tab": {"en": "Decided", "zh": "已处理"},
    "approval_none_waiting": {"en": "Nothing is waiting for your approval.", "zh": "暂无待您审批的事项。"},
    "approval_none": {"en": "No approvals here.", "zh": "暂无审批。"},
    "approval_waiting_since": {"en": "waiting {time}", "zh": "已等待 {time}"},
    "approval_gone": {"en": "This approval does not exist or is not yours to see.",
                      "zh": "该审批不存在，或您无权查看。"},
    "approval_unknown_rule": {"en": "'{rule}' is not an approval you can request for this record.",
                              "zh": "“{rule}”不是此记录可以提交的审批。"},
    "approval_bad_status": {"en": "status must be one of pending, approved, rejected, withdrawn",
                            "zh": "status 必须是 pending、approved、rejected、withdrawn 之一"},
    "approval_bad_record": {"en": "record must be a record id", "zh": "record 必须是记录编号"},
    "approval_list_scope": {"en": "Without entity and record, the list is what waits for your decision "
                                  "(mine=1, status=pending)",
                            "zh": "未指定 entity 和 record 时，列表为待您审批的事项（mine=1，status=pending）"},
    "approval_bad_comment": {"en": "comment must be text", "zh": "comment 必须是文本"},
    # the timeline
    "approval_tl_requested": {"en": "Approval requested", "zh": "发起审批"},
    "approval_tl_approved": {"en": "Approved", "zh": "审批通过"},
    "approval_tl_rejected": {"en": "Rejected", "zh": "审批驳回"},
    "approval_tl_withdrawn": {"en": "Approval withdrawn", "zh": "撤回审批"},
    # the home page's strip
    "today_strip": {"en": "Today", "zh": "今日待办"},
    "today_approvals": {"en": "Approvals waiting for you", "zh": "待我审批"},
    "today_unread": {"en": "Unread messages", "zh": "未读消息"},
}

add_words(APPROVAL_WORDS)
