"""The interface's own words (menus, buttons, messages) in zh and en, and locale formatting."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

WORDS: dict[str, dict[str, str]] = {
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
}


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
