"""The interface's words: every msgid the code and templates use has its Chinese in the catalog,
a word the catalog lacks shows its English text (never a key), and locale formatting."""
from __future__ import annotations

import datetime as dt
import logging
import random
import re
import shutil
import string
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date as babel_date, format_datetime as babel_datetime
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from atrium import translation
from atrium.cli import main
from atrium.translation import (
    DATE_PATTERNS,
    DATETIME_PATTERNS,
    cldr_locale,
    environment_locale,
    format_date,
    format_datetime,
    format_money,
    format_number,
    negotiate,
    nword,
    pword,
    word,
)

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "platform" / "locale" / "zh" / "LC_MESSAGES" / "atrium.po"
# zh words that name a field their English msgid does not (the caller passes both)
OTHER_FIELDS = {"{names} and {count} more": {"total"}, "{month_name} {year}": {"month"},
                "{day} {month_name} {year}": {"month"}}


def used_msgids() -> dict[tuple[str | None, str], str]:
    """(context, msgid) -> where, as `make translations` extracts them (babel.cfg and the Makefile's keywords)."""
    keywords_line = re.search(r"^BABEL_KEYWORDS := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert keywords_line, "the Makefile names pybabel's keywords in BABEL_KEYWORDS"
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(keywords_line.group(1).split())}
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    used = {}
    for filename, line, msgid, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        text = msgid[0] if isinstance(msgid, tuple) else msgid
        used.setdefault((context, text), f"{filename}:{line}")
    return used


def fields_of(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_word_the_code_and_templates_use_has_a_chinese_translation():
    used = used_msgids()
    with CATALOG.open("rb") as source:
        catalog = read_po(source)
    # a plural entry (nword) is known by its singular, translated when every form is
    translated = {(m.context, singular(m.id)): m for m in catalog if m.id and filled(m.string) and not m.fuzzy}
    missing = sorted(f"{where}: {msgid!r}" + (f" (context {context})" if context else "")
                     for (context, msgid), where in used.items() if (context, msgid) not in translated)
    assert not missing, "no zh translation (run `make translations`, then translate):\n" + "\n".join(missing)
    unused = sorted(msgid for key, msgid in ((k, k[1]) for k in translated) if key not in used)
    assert not unused, f"translated but no longer used (run `make translations`): {unused}"
    assert len(used) > 400  # the extraction found the words of every layer, not one file's


def test_a_translation_names_the_fields_its_english_text_fills():
    with CATALOG.open("rb") as source:
        catalog = read_po(source)
    wrong = [(m.id, m.string) for m in catalog if m.id and filled(m.string)
             and not set().union(*map(fields_of, forms(m.string))) <= set().union(*map(fields_of, forms(m.id)))
             | OTHER_FIELDS.get(singular(m.id), set())]
    assert not wrong


def singular(msgid: str | tuple) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def forms(text: str | tuple) -> tuple:
    return (text,) if isinstance(text, str) else tuple(text)


def filled(text: str | tuple) -> bool:
    return all(forms(text)) if text else False


def test_no_msgid_is_a_key():
    """The code says its words in English: a snake_case msgid is a key that shows through."""
    keys = sorted(msgid for _, msgid in used_msgids() if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", msgid))
    assert not keys


def test_a_word_missing_from_the_catalog_shows_its_english_text_and_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="atrium.translation"):
        assert word("A sentence nobody translated ({n})", "zh", n=3) == "A sentence nobody translated (3)"
    assert "A sentence nobody translated" in caplog.text
    assert word("Save", "zh") == "保存" and word("Save", "en") == "Save" and word("Save", "zh-CN") == "保存"
    assert word("Import {count} rows", "zh", count=12) == "导入 12 行"


def test_one_english_text_with_two_meanings_has_a_context():
    assert word("Today", "zh") == "今天" and pword("strip", "Today", "zh") == "今日待办"
    assert word("New {entity}", "zh", entity="客户") == "新建客户"
    assert pword("timeline", "New {entity}", "zh", entity="客户") == "新增客户"
    assert pword("timeline", "Approved", "en") == "Approved"
    assert nword("{count} row", "{count} rows", 2, "en") == "2 rows"


def test_the_catalog_is_read_from_the_po_when_nobody_compiled_it(tmp_path, monkeypatch):
    po = tmp_path / "zh" / "LC_MESSAGES" / "atrium.po"
    po.parent.mkdir(parents=True)
    po.write_bytes(CATALOG.read_bytes())
    monkeypatch.setattr(translation, "LOCALE_DIR", tmp_path)
    translation.translations.cache_clear()
    try:
        assert not po.with_suffix(".mo").exists()
        assert word("Save", "zh") == "保存"
    finally:
        translation.translations.cache_clear()


def test_accept_language_is_negotiated_by_quality():
    assert negotiate("en-US,zh;q=0.9", ["zh", "en"]) == "en"
    assert negotiate("fr, zh-CN;q=0.5, en;q=0.4", ["zh", "en"]) == "zh"
    assert negotiate("zh-Hans-CN", ["zh", "en"]) == "zh" and negotiate("EN", ["zh", "en"]) == "en"
    assert negotiate("en;q=0, fr", ["zh", "en"]) is None
    assert negotiate("", ["zh", "en"]) is None


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_money_numbers_and_dates_keep_their_forms(locale):
    assert format_money(Decimal("1234.5"), "CNY", locale) == "¥1,234.50"
    assert format_money(0, "CNY", locale) == "¥0.00"
    assert format_number(Decimal("1234.567")) == "1,234.57" and format_number(1234) == "1,234"
    assert format_number(Decimal("12.30"), 1) == "12.3"


def test_money_honours_the_locale():
    assert format_money(Decimal("-5"), "USD", "en") == "-$5.00"
    assert format_money(Decimal("5"), "USD", "zh") == "US$5.00"
    assert format_money(Decimal("5"), "EUR", "en") == "€5.00"


def test_dates_read_as_each_language_writes_them():
    assert format_date(dt.date(2026, 5, 1), "zh") == "2026年5月1日"
    assert format_date(dt.date(2026, 5, 1), "en") == "2026-05-01"
    moment = dt.datetime(2026, 5, 1, 3, 4, tzinfo=dt.timezone.utc)
    assert format_datetime(moment, "zh", "Asia/Shanghai") == "2026年5月1日 11:04"
    assert format_datetime(moment, "en", "Asia/Shanghai") == "2026-05-01 11:04"


DESIGN = ROOT / "tests" / "fixtures" / "design_examples"


def broken_blueprint(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    folder = Path(shutil.copytree(DESIGN, tmp_path / name))
    order = folder / "entities" / "order.yaml"
    text = order.read_text()
    for old, new in edits:
        text = text.replace(old, new, 1)
    order.write_text(text)
    return folder


def check(capsys, folder: Path, *args: str) -> tuple[int, str, str]:
    database = f"sqlite:///{folder / 'atrium.db'}"  # no site overlay beside it, nor in the working directory
    try:
        code = main(["--blueprint", str(folder), "--db", database, "check", *args])
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def no_site_from_the_environment(monkeypatch):
    """`atrium serve` exports these for its workers; a test that ran it may have left them set."""
    for name in ("ATRIUM_SITE_OVERLAY", "ATRIUM_OVERLAYS", "ATRIUM_BLUEPRINT", "ATRIUM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_check_answers_in_chinese_with_lang_zh(capsys, tmp_path, monkeypatch):
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    shape = broken_blueprint(tmp_path, "shape", ("amount:   {type: money", "amount:   {type: mony"),
                             ("\n  amount:", "\n  amount:   {type: text}\n  amount:"))
    names = broken_blueprint(tmp_path, "names", ("to: customer, required", "to: custmer, required"))
    code, _, english = check(capsys, shape)
    assert code == 1
    assert "'mony' is not a valid type (did you mean 'money'?)" in english
    assert "duplicate key 'amount' (first written on line 12)" in english and "2 problem(s) found." in english
    code, _, chinese = check(capsys, shape, "--lang", "zh")
    assert code == 1
    assert "fields.amount.type: 'mony' 不是有效的 type（是否想写“money”？）；可选：'text'、" in chinese
    assert "重复的键“amount”（首次出现在第 12 行）" in chinese and "发现 2 个问题。" in chinese
    # the same problems, at the same places, in the same order
    assert [line.split(": ")[:2] for line in english.splitlines()[:-1]] == \
        [line.split(": ")[:2] for line in chinese.splitlines()[:-1]]
    assert "'custmer' is not an entity (did you mean 'customer'?)" in check(capsys, names)[2]
    assert "“custmer”不是实体（是否想写“customer”？）；可选：" in check(capsys, names, "--lang", "zh")[2]


def test_check_speaks_the_environments_language_when_no_lang_is_given(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out, _ = check(capsys, Path(shutil.copytree(DESIGN, tmp_path / "ok")))
    assert code == 0 and "：通过（" in out and "个实体" in out
    monkeypatch.setenv("LC_ALL", "C")
    code, out, _ = check(capsys, tmp_path / "ok")
    assert code == 0 and ": OK (" in out and " entities, " in out
    assert environment_locale({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}) == "en"
    assert environment_locale({"LANG": "POSIX"}) is None and environment_locale({}) is None


def test_dates_written_directly_read_as_babel_writes_them():
    """The shipped numeric patterns skip Babel's general formatter; the text is the same."""
    pick = random.Random(7)
    for _ in range(500):
        day = dt.date(1, 1, 1) + dt.timedelta(days=pick.randrange(3_650_000))
        moment = dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=pick.randrange(30_000_000))
        local = moment.astimezone(ZoneInfo("Asia/Shanghai"))
        for language in ("zh", "en"):
            assert format_date(day, language) == babel_date(day, DATE_PATTERNS[language], locale=cldr_locale(language))
            assert format_datetime(moment, language, "Asia/Shanghai") == babel_datetime(
                local, DATETIME_PATTERNS[language], tzinfo=local.tzinfo, locale=cldr_locale(language))
    assert format_date(dt.date(2026, 3, 4), "zh") == "2026年3月4日"


def test_money_in_the_written_currency_is_what_babel_writes():
    """format_money writes CNY itself (translation.WRITTEN_CURRENCIES); the same text as Babel's
    `¤#,##0.00` with the zh locale for ints, floats and decimals, edges included."""
    pick = random.Random(11)
    values: list = [0, -0.0, -0.001, 0.005, 0.015, 2.675, Decimal("2.675"), Decimal("-0.004"), 1234.5, -1234.565,
                    12345678.125, 10**15, 1e20, 5e-324]  # beyond ~1e26 Babel raises, and so does format_money
    for _ in range(3000):
        kind = pick.random()
        values.append(pick.uniform(-1e7, 1e7) if kind < 0.3 else round(pick.uniform(-1e6, 1e6), pick.randint(0, 4))
                      if kind < 0.6 else pick.randint(-10**12, 10**12) if kind < 0.8
                      else Decimal(pick.randint(-10**9, 10**9)) / Decimal(10 ** pick.randint(0, 5)))
    zh = translation.cldr_locale("zh")
    for value in values:
        expected = format_currency(value, "CNY", locale=zh, currency_digits=False, format="¤#,##0.00")
        for locale in ("zh", "en"):
            assert translation.format_money(value, "CNY", locale) == expected, value


def test_plain_numbers_written_directly_read_as_babel_writes_them():
    """format_number writes numbers itself where the locale's symbols are plain (zh, en): the same
    text as Babel's `#,##0.00…` for ints, floats and decimals, edges and every precision included."""
    pick = random.Random(13)
    values: list = [0, -0.0, -0.001, 0.005, 0.015, 2.675, Decimal("2.675"), Decimal("-0.004"), Decimal("-0"),
                    Decimal("1E+3"), Decimal("12.30"), 1234.5, -1234.565, 12345678.125, 10**15, 1e20, 5e-324]
    for _ in range(2000):
        kind = pick.random()
        values.append(pick.uniform(-1e7, 1e7) if kind < 0.3 else round(pick.uniform(-1e6, 1e6), pick.randint(0, 4))
                      if kind < 0.6 else pick.randint(-10**12, 10**12) if kind < 0.8
                      else Decimal(pick.randint(-10**9, 10**9)) / Decimal(10 ** pick.randint(0, 5)))
    for value in values:
        for decimals in (None, 0, 1, 2, 3):
            places = decimals if decimals is not None else 0 if isinstance(value, int) or (
                isinstance(value, Decimal) and value == value.to_integral()) else 2
            pattern = "#,##0" + ("." + "0" * places if places else "")
            for locale in ("zh", "en"):
                expected = format_decimal(value, format=pattern, locale=cldr_locale(locale), decimal_quantization=True)
                assert format_number(value, decimals, locale) == expected, (value, decimals, locale)
