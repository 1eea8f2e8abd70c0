"""What the public pool and conversions tell people, in zh and en."""
from __future__ import annotations

from atrium.runtime.automation.messages import text_of

MESSAGES: dict[str, dict[str, str]] = {
    "no_pool": {"en": "Records of this kind have no public pool", "zh": "此类记录没有公海"},
    "pool_taken": {"en": "Someone else claimed this record first", "zh": "该记录已被他人抢先领取"},
    "pool_yours": {"en": "You already own this record", "zh": "该记录已归您所有"},
    "pool_locked": {"en": "This record is locked: it stays with its owner and cannot be claimed or released",
                    "zh": "该记录已锁定：不能领取或退回公海"},
    "pool_max_owned": {"en": "You already own {owned} of these records, the most one person may hold ({max}); "
                             "release some before claiming more",
                       "zh": "您已拥有 {owned} 条此类记录，已达上限（{max} 条），请先退回一些再领取"},
    "pool_daily_cap": {"en": "You have claimed {cap} records today, the daily limit; claim more tomorrow",
                       "zh": "您今天已领取 {cap} 条记录，达到每日上限，请明天再领取"},
    "pool_cooldown": {"en": "This record left your hands on {left}; you may claim it again from {until}",
                      "zh": "该记录于 {left} 离开您名下，{until} 起才能再次领取"},
    "pool_not_owned": {"en": "This record is already in the public pool", "zh": "该记录已在公海中"},
    "pool_not_yours": {"en": "Only the owner, or someone who may change the record, can release it",
                       "zh": "只有负责人或有权修改该记录的人才能退回公海"},
    "pool_no_claim": {"en": "Your role may not claim from this pool", "zh": "您的角色不能从此公海领取记录"},
    "convert_none": {"en": "Records of this kind cannot be converted", "zh": "此类记录不能转化"},
    "convert_done": {"en": "This record has already been converted", "zh": "该记录已经转化过了"},
    "convert_not_now": {"en": "This record cannot be converted in its present state",
                        "zh": "该记录当前状态下不能转化"},
    "convert_required": {"en": "This part of the conversion cannot be left out", "zh": "此项为必选，不能取消"},
    "convert_duplicates": {"en": "Records like this already exist: link one of them, or confirm that a new one "
                                 "should be created",
                           "zh": "已存在相似的记录：请选择关联已有记录，或确认仍要新建"},
    "convert_hidden_duplicates": {"en": "{count} similar record(s) exist that you cannot open",
                                  "zh": "另有 {count} 条相似记录，您无权查看"},
    "convert_bad_choice": {"en": "Pick one of the records offered, or create a new one",
                           "zh": "请从列出的记录中选择，或新建"},
}


def pool_message(key: str, locale: str, **params: object) -> str:
    return text_of(MESSAGES, key, locale, **params)
