"""The runtime's messages to people, in every locale Atrium speaks (zh, en)."""
from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "required": {"en": "This field is required", "zh": "此字段为必填项"},
    "required_in_stage": {"en": "Required to enter stage {stage}", "zh": "进入阶段“{stage}”前必须填写"},
    "unknown_field": {"en": "There is no field '{field}'", "zh": "没有字段“{field}”"},
    "computed": {"en": "This field is computed and cannot be set", "zh": "此字段自动计算，不能修改"},
    "not_text": {"en": "Must be text", "zh": "必须是文本"},
    "too_long": {"en": "At most {max} characters", "zh": "最多 {max} 个字符"},
    "not_integer": {"en": "Must be a whole number", "zh": "必须是整数"},
    "not_number": {"en": "Must be a number", "zh": "必须是数字"},
    "too_small": {"en": "Must be at least {min}", "zh": "不能小于 {min}"},
    "too_large": {"en": "Must be at most {max}", "zh": "不能大于 {max}"},
    "not_boolean": {"en": "Must be yes or no", "zh": "必须是“是”或“否”"},
    "not_date": {"en": "Must be a date like 2026-03-31", "zh": "日期格式应为 2026-03-31"},
    "not_datetime": {"en": "Must be a date and time like 2026-03-31 14:30", "zh": "日期时间格式应为 2026-03-31 14:30"},
    "not_email": {"en": "Must be an email address", "zh": "必须是有效的邮箱地址"},
    "not_phone": {"en": "Must be a phone number", "zh": "必须是有效的电话号码"},
    "not_url": {"en": "Must be a web address starting with http:// or https://",
                "zh": "必须是以 http:// 或 https:// 开头的网址"},
    "not_option": {"en": "'{value}' is not one of the choices", "zh": "“{value}”不是可选项"},
    "not_stage": {"en": "'{value}' is not a stage", "zh": "“{value}”不是有效阶段"},
    "transition": {"en": "Cannot move from {source} to {target}", "zh": "不能从“{source}”转到“{target}”"},
    "not_reference": {"en": "Must be the id of a record", "zh": "必须是记录编号"},
    "missing_reference": {"en": "The linked record does not exist", "zh": "关联的记录不存在"},
    "missing_user": {"en": "No such user", "zh": "用户不存在"},
    "not_location": {"en": "Must be a location (latitude, longitude)", "zh": "必须是位置（纬度, 经度）"},
    "duplicate": {"en": "Another record already has this value", "zh": "已有其他记录使用此值"},
    "stale": {"en": "Someone else saved this record first; reload to see their changes",
              "zh": "此记录已被他人修改，请刷新后查看"},
    "restricted": {"en": "Cannot delete: {count} {entity} record(s) still link to it",
                   "zh": "无法删除：仍有 {count} 条{entity}记录关联此记录"},
    "not_found": {"en": "No such record", "zh": "记录不存在"},
    "field_not_allowed": {"en": "You may not change this field", "zh": "您无权修改此字段"},
    "owner_out_of_reach": {"en": "You can only give records to yourself or your team",
                           "zh": "只能将记录分配给自己或本团队成员"},
    "automation_failed": {"en": "Automation '{rule}' failed, so nothing was saved: {reason}",
                          "zh": "自动化规则“{rule}”执行失败，未保存任何更改：{reason}"},
    "automation_too_deep": {"en": "automations triggered one another more than {depth} levels deep",
                            "zh": "自动化规则相互触发超过 {depth} 层"},
}


def text_of(table: dict[str, dict[str, str]], key: str, locale: str, **params: object) -> str:
    """One message of a zh/en table in the user's language (English when it has none)."""
    texts = table[key]
    text = texts.get(locale) or texts.get(locale.split("-")[0]) or texts["en"]
    return text.format(**params)


def message(key: str, locale: str, **params: object) -> str:
    return text_of(MESSAGES, key, locale, **params)
