"""The words of report pages and dashboards in zh and en (added to the interface's words)."""
from __future__ import annotations

from atrium.ui.web.i18n import add_words

REPORT_WORDS: dict[str, dict[str, str]] = {
    "reports": {"en": "Reports", "zh": "报表"},
    "dashboard": {"en": "Dashboard", "zh": "仪表板"},
    "no_reports": {"en": "Your role has no reports to run.", "zh": "您的角色暂无可查看的报表。"},
    "report_of": {"en": "Report on {entity}", "zh": "{entity}报表"},
    "period": {"en": "Period", "zh": "时间段"},
    "report_period": {"en": "As the report defines", "zh": "按报表默认"},
    "whose": {"en": "Whose", "zh": "负责人"},
    "everyone_visible": {"en": "Everyone I can see", "zh": "我可见的全部"},
    "just_me": {"en": "Only mine", "zh": "仅我的"},
    "team_named": {"en": "Team {team}", "zh": "团队：{team}"},
    "refresh": {"en": "Refresh", "zh": "刷新"},
    "loading": {"en": "Loading…", "zh": "加载中……"},
    "total": {"en": "Total", "zh": "合计"},
    "no_data": {"en": "No data", "zh": "暂无数据"},
    "rows_cut": {"en": "Only the first {n} rows are shown", "zh": "仅显示前 {n} 行"},
    "target": {"en": "Target", "zh": "目标"},
    "no_target": {"en": "No target set", "zh": "未设置目标"},
    "of_target": {"en": "{percent} of target", "zh": "完成目标的 {percent}"},
    "vs_previous": {"en": "{change} vs {period}", "zh": "较{period} {change}"},
    "previous_period": {"en": "the previous period", "zh": "上期"},
    "not_available": {"en": "This widget is not available to your role", "zh": "您的角色无法查看此组件"},
    "widget_failed": {"en": "This widget could not be computed: {why}", "zh": "此组件无法计算：{why}"},
    "period_not_applied": {"en": "The period filter does not apply here", "zh": "时间段筛选不适用于此组件"},
    "bad_period": {"en": "'{period}' is not a period", "zh": "“{period}”不是有效的时间段"},
    "bad_owner": {"en": "'{owner}' is not a team or person you can see", "zh": "“{owner}”不是您可查看的团队或人员"},
    "no_dashboard": {"en": "No dashboard is set for your role yet; here is what you can open.",
                     "zh": "您的角色尚未配置仪表板；以下是您可以查看的内容。"},
    "open_report": {"en": "Open report", "zh": "查看报表"},
    "open_list": {"en": "Open list", "zh": "查看列表"},
    "funnel_of": {"en": "{pipeline} funnel", "zh": "{pipeline}漏斗"},
    "conversion": {"en": "Conversion", "zh": "转化率"},
    "updated_at": {"en": "As of {time}", "zh": "数据时间 {time}"},
}
add_words(REPORT_WORDS)

PERIODS = ("this_week", "last_week", "this_month", "last_month", "this_quarter", "last_quarter",
           "this_year", "last_year", "last_30_days", "last_90_days")
PREVIOUS = {"today": "yesterday", "this_week": "last_week", "this_month": "last_month",
            "this_quarter": "last_quarter", "this_year": "last_year"}
