"""The interface's own words (menus, buttons, messages) in zh and en, and locale formatting."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

WORDS: dict[str, dict[str, str]] = {
    "apply": {"en": "Apply", "zh": "应用"},
    "dashboards": {"en": "Dashboards", "zh": "仪表板"},
    "sign_in": {"en": "Sign in", "zh": "登录"},
    "sign_out": {"en": "Sign out", "zh": "退出"},
    "user_name": {"en": "User name", "zh": "用户名"},
    "password": {"en": "Password", "zh": "密码"},
    "bad_login": {"en": "Wrong user name or password", "zh": "用户名或密码错误"},
    "slowed": {"en": "Too many failed attempts; try again in {seconds} seconds",
               "zh": "失败次数过多，请 {seconds} 秒后再试"},
    "home": {"en": "Home", "zh": "首页"},
    "new": {"en": "New", "zh": "新建"},
    "edit": {"en": "Edit", "zh": "编辑"},
    "save": {"en": "Save", "zh": "保存"},
    "cancel": {"en": "Cancel", "zh": "取消"},
    "delete": {"en": "Delete", "zh": "删除"},
    "search": {"en": "Search", "zh": "搜索"},
    "filter": {"en": "Filter", "zh": "筛选"},
    "clear": {"en": "Clear", "zh": "清除"},
    "export_csv": {"en": "Export CSV", "zh": "导出 CSV"},
    "import_csv": {"en": "Import CSV", "zh": "导入 CSV"},
    "next_page": {"en": "Next", "zh": "下一页"},
    "records": {"en": "records", "zh": "条记录"},
    "no_records": {"en": "Nothing here yet", "zh": "暂无记录"},
    "history": {"en": "History", "zh": "历史记录"},
    "related": {"en": "Related", "zh": "相关记录"},
    "kanban": {"en": "Board", "zh": "看板"},
    "calendar": {"en": "Calendar", "zh": "日历"},
    "list": {"en": "List", "zh": "列表"},
    "yes": {"en": "Yes", "zh": "是"},
    "no": {"en": "No", "zh": "否"},
    "not_found": {"en": "Not found", "zh": "未找到"},
    "forbidden": {"en": "You may not do that", "zh": "没有权限"},
    "csrf": {"en": "The form expired; reload the page and try again", "zh": "表单已过期，请刷新页面后重试"},
    "fix_errors": {"en": "Please correct the fields marked below", "zh": "请修正下面标出的字段"},
    "conflict": {"en": "Someone else saved this record while you were editing",
                 "zh": "您编辑期间，此记录已被他人保存"},
    "language": {"en": "Language", "zh": "语言"},
    "demo_logins": {"en": "Demo logins", "zh": "演示账号"},
    # record pages: lists, filters, saved views, forms, detail
    "restricted": {"en": "(no access)", "zh": "（无权查看）"},
    "me": {"en": "Me", "zh": "我"},
    "anyone": {"en": "Anyone", "zh": "全部"},
    "either": {"en": "Either", "zh": "不限"},
    "any_time": {"en": "Any time", "zh": "不限时间"},
    "from": {"en": "from", "zh": "从"},
    "to": {"en": "to", "zh": "到"},
    "min": {"en": "Min", "zh": "最小"},
    "max": {"en": "Max", "zh": "最大"},
    "period_today": {"en": "Today", "zh": "今天"},
    "period_yesterday": {"en": "Yesterday", "zh": "昨天"},
    "period_this_week": {"en": "This week", "zh": "本周"},
    "period_last_week": {"en": "Last week", "zh": "上周"},
    "period_this_month": {"en": "This month", "zh": "本月"},
    "period_last_month": {"en": "Last month", "zh": "上月"},
    "period_this_quarter": {"en": "This quarter", "zh": "本季度"},
    "period_last_quarter": {"en": "Last quarter", "zh": "上季度"},
    "period_this_year": {"en": "This year", "zh": "今年"},
    "period_last_year": {"en": "Last year", "zh": "去年"},
    "period_last_7_days": {"en": "Last 7 days", "zh": "最近 7 天"},
    "period_last_30_days": {"en": "Last 30 days", "zh": "最近 30 天"},
    "period_last_90_days": {"en": "Last 90 days", "zh": "最近 90 天"},
    "period_next_7_days": {"en": "Next 7 days", "zh": "未来 7 天"},
    "period_next_30_days": {"en": "Next 30 days", "zh": "未来 30 天"},
    "period_next_90_days": {"en": "Next 90 days", "zh": "未来 90 天"},
    "exact_count": {"en": "exact count", "zh": "精确计数"},
    "first_page": {"en": "First page", "zh": "第一页"},
    "bad_cursor": {"en": "That page no longer exists; showing the first page",
                   "zh": "该页已不存在，已显示第一页"},
    "saved_views": {"en": "Saved views", "zh": "已保存的视图"},
    "no_saved_views": {"en": "Save the current filters, search and sort under a name.",
                       "zh": "可将当前的筛选、搜索和排序保存为视图。"},
    "view_name": {"en": "View name", "zh": "视图名称"},
    "save_view": {"en": "Save view", "zh": "保存视图"},
    "name_required": {"en": "Give the view a name", "zh": "请填写视图名称"},
    "type_to_search": {"en": "Type to search", "zh": "输入以搜索"},
    "no_matches": {"en": "No matching records", "zh": "没有匹配的记录"},
    "keep_typing": {"en": "More match: keep typing", "zh": "匹配较多，请继续输入"},
    "pick_one": {"en": "Choose a record from the list", "zh": "请从列表中选择一条记录"},
    "required": {"en": "required", "zh": "必填"},
    "latitude": {"en": "Latitude", "zh": "纬度"},
    "longitude": {"en": "Longitude", "zh": "经度"},
    "address": {"en": "Address", "zh": "地址"},
    "new_record": {"en": "New {entity}", "zh": "新建{entity}"},
    "edit_record": {"en": "Edit {entity}", "zh": "编辑{entity}"},
    "field": {"en": "Field", "zh": "字段"},
    "their_value": {"en": "Saved by the other person", "zh": "对方保存的值"},
    "your_value": {"en": "Yours", "zh": "您的值"},
    "no_overlap": {"en": "They changed other fields than you did.", "zh": "对方修改的字段与您不同。"},
    "conflict_choice": {"en": "Nothing was saved. Save again to apply your values over theirs, or",
                        "zh": "未保存任何内容。再次保存将以您的值覆盖对方的值，或"},
    "reload": {"en": "reload their version", "zh": "重新加载对方的版本"},
    "more_fields": {"en": "More", "zh": "更多信息"},
    "view_all": {"en": "View all", "zh": "查看全部"},
    "add": {"en": "Add", "zh": "添加"},
    "quick_actions": {"en": "Quick actions", "zh": "快捷操作"},
    "move_to": {"en": "Move to {stage}", "zh": "推进到“{stage}”"},
    "edit_to_fix": {"en": "Edit the record to fill them in", "zh": "编辑记录以补充这些字段"},
    "confirm_delete": {"en": "Delete this record?", "zh": "确定删除此记录？"},
    "created_by_at": {"en": "Created by {who} at {at}", "zh": "{who} 创建于 {at}"},
    "updated_by_at": {"en": "last changed by {who} at {at}", "zh": "{who} 最后修改于 {at}"},
    "created_record": {"en": "Created the record", "zh": "创建了记录"},
    "added_related": {"en": "New {entity}", "zh": "新增{entity}"},
    "time_in_stage": {"en": "{time} in {stage}", "zh": "在“{stage}”停留 {time}"},
    "n_days": {"en": "{n} d", "zh": "{n} 天"},
    "n_hours": {"en": "{n} h", "zh": "{n} 小时"},
    "n_minutes": {"en": "{n} min", "zh": "{n} 分钟"},
    "no_history": {"en": "No changes yet", "zh": "暂无变更"},
    "system": {"en": "System", "zh": "系统"},
    "probability": {"en": "Win probability", "zh": "赢单概率"},
    "learned_probability": {"en": "{configured} · learned {learned} ({samples})",
                            "zh": "{configured} · 历史 {learned}（{samples} 条）"},
    # the inbox
    "notifications": {"en": "Inbox", "zh": "消息"},
    "unread_count": {"en": "{count} unread", "zh": "{count} 条未读"},
    "unread_only": {"en": "Unread only", "zh": "只看未读"},
    "all_notifications": {"en": "All", "zh": "全部"},
    "mark_read": {"en": "Mark read", "zh": "标为已读"},
    "mark_all_read": {"en": "Mark all read", "zh": "全部标为已读"},
    "no_notifications": {"en": "No notifications", "zh": "暂无消息"},
    "older": {"en": "Older", "zh": "更早"},
    # the JSON API's 400 answers
    "api_bad_json": {"en": "The body is not valid JSON", "zh": "请求体不是有效的 JSON"},
    "api_not_object": {"en": "The body must be a JSON object", "zh": "请求体必须是 JSON 对象"},
    "api_unknown_field": {"en": "There is no field '{field}' to filter by", "zh": "没有可筛选的字段“{field}”"},
    "api_unknown_operator": {"en": "'{operator}' is not a filter operator", "zh": "“{operator}”不是筛选运算符"},
    "api_operator_not_for_type": {"en": "The operator '{operator}' does not apply to a {type} field",
                                  "zh": "运算符“{operator}”不适用于 {type} 类型的字段"},
    "api_repeated": {"en": "This filter is given twice; use field__in=a,b for several values",
                     "zh": "此筛选条件重复；多个值请用 field__in=a,b"},
    "api_bad_period": {"en": "'{period}' is not a period (e.g. this_month, last_30_days)",
                       "zh": "“{period}”不是有效的时间段（例如 this_month、last_30_days）"},
    "api_bad_sort": {"en": "Cannot sort by '{field}'", "zh": "不能按“{field}”排序"},
    "api_bad_limit": {"en": "limit must be a whole number from 1 to {max}", "zh": "limit 必须是 1 到 {max} 之间的整数"},
    # CSV import (/r/{entity}/import)
    "import_title": {"en": "Import {entity}", "zh": "导入{entity}"},
    "import_step_upload": {"en": "Upload", "zh": "上传文件"},
    "import_step_map": {"en": "Match columns", "zh": "对应字段"},
    "import_step_check": {"en": "Check", "zh": "检查数据"},
    "import_step_run": {"en": "Import", "zh": "导入"},
    "import_file": {"en": "CSV file", "zh": "CSV 文件"},
    "import_file_help": {"en": "Saved from Excel or any spreadsheet: UTF-8 or GBK, separated by commas, "
                               "semicolons or tabs, the first row naming the columns; at most {size} MB.",
                         "zh": "可由 Excel 等表格软件另存：UTF-8 或 GBK 编码，以逗号、分号或制表符分隔，"
                               "第一行为列名；不超过 {size} MB。"},
    "import_upload": {"en": "Upload and continue", "zh": "上传并继续"},
    "import_no_file": {"en": "Choose a CSV file to upload", "zh": "请选择要上传的 CSV 文件"},
    "import_too_big": {"en": "The file is larger than {size} MB", "zh": "文件超过 {size} MB"},
    "import_file_info": {"en": "{name}: {rows} rows, {encoding}, separated by {delimiter}",
                         "zh": "{name}：{rows} 行，{encoding} 编码，以{delimiter}分隔"},
    "import_comma": {"en": "commas", "zh": "逗号"},
    "import_semicolon": {"en": "semicolons", "zh": "分号"},
    "import_tab": {"en": "tabs", "zh": "制表符"},
    "import_column": {"en": "Column in the file", "zh": "文件中的列"},
    "import_field": {"en": "Field", "zh": "字段"},
    "import_sample": {"en": "Sample values", "zh": "示例值"},
    "import_skip_column": {"en": "— do not import —", "zh": "— 不导入 —"},
    "import_key": {"en": "Find existing records by", "zh": "按此字段查找已有记录"},
    "import_no_key": {"en": "— no duplicate check —", "zh": "— 不查重 —"},
    "import_on_duplicate": {"en": "When the record already exists", "zh": "记录已存在时"},
    "import_dup_skip": {"en": "Skip the row", "zh": "跳过该行"},
    "import_dup_update": {"en": "Update the record", "zh": "更新已有记录"},
    "import_dup_create": {"en": "Create another record", "zh": "仍然新建"},
    "import_preview": {"en": "First rows of the file", "zh": "文件前几行"},
    "import_check": {"en": "Check every row", "zh": "检查全部数据"},
    "import_to_create": {"en": "To create", "zh": "将新建"},
    "import_to_update": {"en": "To update", "zh": "将更新"},
    "import_to_skip": {"en": "To skip", "zh": "将跳过"},
    "import_rows_in_error": {"en": "Rows with errors", "zh": "有错误的行"},
    "import_row": {"en": "Row", "zh": "行号"},
    "import_message": {"en": "Problem", "zh": "问题"},
    "import_more_errors": {"en": "… and {count} more", "zh": "……另有 {count} 条"},
    "import_fix_and_retry": {"en": "Nothing is imported until every row is right: correct the file and "
                                   "upload it again, or change how the columns match.",
                             "zh": "所有行都正确后才会导入：请修改文件后重新上传，或调整列与字段的对应关系。"},
    "import_ready": {"en": "Every row is valid.", "zh": "所有行均有效。"},
    "import_start": {"en": "Import {count} rows", "zh": "导入 {count} 行"},
    "import_back": {"en": "Back to the column matching", "zh": "返回修改对应关系"},
    "import_again": {"en": "Import another file", "zh": "导入其他文件"},
    "import_running": {"en": "Importing… {done} of {total}", "zh": "正在导入…… {done} / {total}"},
    "import_checking": {"en": "Checking rows… {done} of {total}", "zh": "正在检查…… {done} / {total}"},
    "import_refresh": {"en": "Refresh", "zh": "刷新"},
    "import_done": {"en": "Import finished: {created} created, {updated} updated, {skipped} skipped ({seconds} s).",
                    "zh": "导入完成：新建 {created} 条，更新 {updated} 条，跳过 {skipped} 条（用时 {seconds} 秒）。"},
    "import_failed": {"en": "Nothing was imported.", "zh": "未导入任何数据。"},
    "import_crashed": {"en": "The import stopped on an internal error.", "zh": "导入因内部错误而中止。"},
    "import_view_list": {"en": "View the list", "zh": "查看列表"},
    # kanban board (/r/{entity}/kanban) and calendar (/r/{entity}/calendar)
    "views": {"en": "Views", "zh": "视图"},
    "move": {"en": "Move", "zh": "移动"},
    "move_to_label": {"en": "Move to…", "zh": "移动到…"},
    "n_more": {"en": "+{n} more", "zh": "另有 {n} 条"},
    "show_cards": {"en": "Show cards", "zh": "显示卡片"},
    "no_value": {"en": "(none)", "zh": "（未设置）"},
    "choose_column": {"en": "Choose a column to move the card to", "zh": "请选择要移动到的列"},
    "moved_to": {"en": "Moved {title} to {stage}", "zh": "已将“{title}”移到“{stage}”"},
    "board_refreshed": {"en": "The board now shows the latest changes", "zh": "看板已刷新为最新数据"},
    "needs_fields": {"en": "To move {title} to {stage}, fill in:", "zh": "要将“{title}”移到“{stage}”，请填写："},
    "save_and_move": {"en": "Save and move", "zh": "保存并移动"},
    "today": {"en": "Today", "zh": "今天"},
    "previous_week": {"en": "Previous week", "zh": "上一周"},
    "next_week": {"en": "Next week", "zh": "下一周"},
    "month_view": {"en": "Month", "zh": "月"},
    "week_view": {"en": "Week", "zh": "周"},
    "month_title": {"en": "{month_name} {year}", "zh": "{year}年{month}月"},
    "week_title": {"en": "{start} – {end}", "zh": "{start} – {end}"},
    "day_title": {"en": "{day} {month_name} {year}", "zh": "{year}年{month}月{day}日"},
    "new_on_day": {"en": "New on {day}", "zh": "在{day}新建"},
    "calendar_truncated": {"en": "Only the first {n} entries are shown; narrow the filters to see the rest",
                           "zh": "仅显示前 {n} 条，请缩小筛选范围查看其余记录"},
    # the public pool and conversions
    "pool": {"en": "Public pool", "zh": "公海"},
    "claim": {"en": "Claim", "zh": "领取"},
    "release": {"en": "Release to pool", "zh": "退回公海"},
    "confirm_release": {"en": "Give this record back to the public pool?", "zh": "确定将该记录退回公海吗？"},
    "in_pool": {"en": "In the public pool", "zh": "公海中"},
    "nobody": {"en": "Nobody (public pool)", "zh": "无人（公海）"},
    "claimed": {"en": "Claimed", "zh": "已领取"},
    "pool_standing": {"en": "You own {owned}{max}; claimed today: {today}{cap}",
                      "zh": "您已拥有 {owned}{max} 条；今日已领取 {today}{cap} 条"},
    "pool_claim": {"en": "Claimed from the public pool", "zh": "从公海领取"},
    "pool_release": {"en": "Released to the public pool", "zh": "退回公海"},
    "pool_recycle": {"en": "Recycled to the public pool", "zh": "自动回收至公海"},
    "pool_from": {"en": "from {who}", "zh": "原负责人：{who}"},
    "pool_by_rule": {"en": "rule {rule}", "zh": "规则：{rule}"},
    "convert": {"en": "Convert", "zh": "转化"},
    "convert_include": {"en": "Create this", "zh": "创建此项"},
    "convert_new": {"en": "Create a new one", "zh": "新建"},
    "convert_use": {"en": "Use {title}", "zh": "使用 {title}"},
    "convert_linked": {"en": "Keep the linked {title}", "zh": "保留已关联的 {title}"},
    "convert_similar": {"en": "Similar records already exist", "zh": "已存在相似的记录"},
    "convert_run": {"en": "Convert", "zh": "确认转化"},
    "convert_done": {"en": "Converted", "zh": "转化完成"},
    "convert_created": {"en": "Created", "zh": "新建"},
    "convert_linked_existing": {"en": "Linked", "zh": "关联已有"},
    "convert_left_out": {"en": "Left out", "zh": "未创建"},
    "back_to_record": {"en": "Back to the record", "zh": "返回记录"},
    **{f"month_{i}": {"en": en, "zh": zh} for i, (en, zh) in enumerate(zip(
        ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
         "November", "December"),
        ("一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月")), 1)},
    **{f"weekday_{i}": {"en": en, "zh": zh} for i, (en, zh) in enumerate(zip(
        ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), ("周一", "周二", "周三", "周四", "周五", "周六", "周日")), 1)},
}


def add_words(words: dict[str, dict[str, str]]) -> None:
    """Words of one part of the interface (reports, studio) joined to the shared table; a key
    already there is refused, so no part changes what another part's pages say."""
    clash = sorted(words.keys() & WORDS.keys())
    if clash:
        raise ValueError(f"words already defined elsewhere: {', '.join(clash)}")
    WORDS.update(words)


def word(key: str, locale: str, **params: Any) -> str:
    texts = WORDS.get(key)
    if texts is None:
        return key
    text = texts.get(locale) or texts["en"]
    return text.format(**params) if params else text


def format_number(value: Any, decimals: int | None = None) -> str:
    if value is None:
        return ""
    if decimals is None:
        decimals = 0 if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral()) else 2
    return f"{value:,.{decimals}f}"


def format_money(value: Any, currency: str, locale: str) -> str:
    if value is None:
        return ""
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get(currency, currency + " ")
    return f"{symbol}{value:,.2f}"


def format_date(value: dt.date | None, locale: str) -> str:
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日" if locale == "zh" else value.isoformat()


def format_datetime(value: dt.datetime | None, locale: str, timezone: str) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(timezone))
    if locale == "zh":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"
