"""Interface words and locale formatting: the `atrium` gettext domain, at the bottom of the import graph.

Every layer may import this module; it imports nothing of Atrium. The code says its words in
English (the msgids); `locale/zh/LC_MESSAGES/atrium.po` holds the Chinese. `make setup` compiles it
to `atrium.mo`; a checkout where nobody compiled (or where the .po is newer) reads the .po through
Babel instead, so a bare checkout still speaks Chinese. English needs no catalog: the msgid is the
text. A word with no translation shows its English text, never a key.

Words take their parameters as `str.format` fields (`word("Import {count} rows", locale, count=3)`);
`make translations` finds them with babel.cfg and the Makefile's BABEL_KEYWORDS (`word`, `pword:1c,2`,
`nword:1,2`, `NC_:1c,2`, besides Babel's own `_`, `gettext`, `pgettext`, `N_`). docs/translating.md
is the translator's workflow.
"""
from __future__ import annotations

import datetime as dt
import gettext as gettext_module
import io
import logging
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.dates import format_date as babel_format_date, format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

DOMAIN = "atrium"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LOCALE = "en"
log = logging.getLogger(__name__)
# Atrium's short locale names and the CLDR locales Babel formats them with.
CLDR_LOCALES = {"zh": "zh_Hans_CN", "en": "en_US"}
DATE_PATTERNS = {"zh": "y年M月d日", "en": "yyyy-MM-dd"}
DATETIME_PATTERNS = {"zh": "y年M月d日 HH:mm", "en": "yyyy-MM-dd HH:mm"}


def N_(msgid: str) -> str:
    """Marks a msgid for extraction where it is chosen at run time (tables of periods, months...)."""
    return msgid


def NC_(context: str, msgid: str) -> tuple[str, str]:
    """N_ for a word with a context: `pword(*NC_("timeline", "Approved"), locale)`."""
    return context, msgid


def language_of(locale: str | None) -> str:
    """'zh-CN', 'zh_Hans' and 'zh' all speak the 'zh' catalog."""
    return (locale or SOURCE_LOCALE).replace("_", "-").split("-")[0].lower() or SOURCE_LOCALE


def catalog_path(language: str, suffix: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@lru_cache(maxsize=None)
def translations(locale: str | None) -> gettext_module.NullTranslations:
    """The compiled catalog of a language, else its .po read through Babel, else no translation."""
    language = language_of(locale)
    if language == SOURCE_LOCALE:
        return gettext_module.NullTranslations()
    mo, po = catalog_path(language, ".mo"), catalog_path(language, ".po")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    if po.exists():
        with po.open("rb") as source:
            catalog = read_po(source, locale=language, domain=DOMAIN)
        built = io.BytesIO()
        write_mo(built, catalog)
        built.seek(0)
        return Translations(built, domain=DOMAIN)
    return gettext_module.NullTranslations()


def _filled(text: str, params: dict[str, Any]) -> str:
    return text.format(**params) if params else text


@lru_cache(maxsize=1024)
def _untranslated(language: str, context: str | None, msgid: str) -> None:
    """Said once a word: the catalog test keeps this from happening to words the code names."""
    log.warning("no %s translation for %r%s: showing the English text", language, msgid,
                f" (context {context!r})" if context else "")


def _checked(found: str, msgid: str, locale: str | None, context: str | None = None) -> str:
    # gettext hands back the msgid object itself when the catalog has no entry
    if found is msgid and language_of(locale) != SOURCE_LOCALE:
        _untranslated(language_of(locale), context, msgid)
    return found


def word(msgid: str, locale: str | None, **params: Any) -> str:
    """One interface word in the locale's language, its `{fields}` filled from params."""
    return _filled(_checked(translations(locale).gettext(msgid), msgid, locale), params)


def pword(context: str, msgid: str, locale: str | None, **params: Any) -> str:
    """A word whose English text means different things in different places (msgctxt)."""
    return _filled(_checked(translations(locale).pgettext(context, msgid), msgid, locale, context), params)


def nword(singular: str, plural: str, count: int, locale: str | None, **params: Any) -> str:
    """A word that depends on a count; `{count}` is filled in too."""
    return _filled(translations(locale).ngettext(singular, plural, count), {"count": count, **params})


class Words:
    """gettext, ngettext and pgettext bound to one locale: what a request's templates call."""

    def __init__(self, locale: str | None) -> None:
        self.locale = locale

    def gettext(self, msgid: str, **params: Any) -> str:
        return word(msgid, self.locale, **params)

    def pgettext(self, context: str, msgid: str, **params: Any) -> str:
        return pword(context, msgid, self.locale, **params)

    def ngettext(self, singular: str, plural: str, count: int, **params: Any) -> str:
        return nword(singular, plural, count, self.locale, **params)


def environment_locale(environ: Mapping[str, str]) -> str | None:
    """The language of LC_ALL, else LC_MESSAGES, else LANG (in POSIX precedence); None for C/POSIX or unset."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            tag = value.split(".")[0].split("@")[0]
            return None if tag in ("C", "POSIX") else language_of(tag)
    return None


def negotiate(accepted: str, available: Iterable[str]) -> str | None:
    """The first language of an Accept-Language header (by q-value) that is available, or None."""
    ranked = []
    for position, part in enumerate(accepted.split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if tag.strip() and weight > 0:
            ranked.append((-weight, position, tag.strip().replace("-", "_")))
    preferred = [tag for _, _, tag in sorted(ranked)]
    choices = list(available)
    found = negotiate_locale(preferred, choices, sep="_") or negotiate_locale(
        [language_of(tag) for tag in preferred], choices, sep="_")
    # Babel answers in the header's spelling ('EN'); the caller wants its own ('en')
    return next((choice for choice in choices if found and choice.lower() == found.lower()), found)


@lru_cache(maxsize=64)
def cldr_locale(locale: str | None) -> Locale:
    # cached: Locale.parse costs ~10 µs, and a list page formats hundreds of money and date values
    language = language_of(locale)
    try:
        return Locale.parse(CLDR_LOCALES.get(language, language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(CLDR_LOCALES[SOURCE_LOCALE])


QUANTA = tuple(Decimal(1).scaleb(-places) for places in range(7))  # 1, 0.1, 0.01 ...


@lru_cache(maxsize=64)
def _plain_symbols(locale: str | None) -> bool:
    """Whether the locale writes numbers with ',' groups, '.' decimals and '-' (zh and en do)."""
    symbols = cldr_locale(locale).number_symbols.get("latn", {})
    return (symbols.get("group"), symbols.get("decimal"), symbols.get("minusSign")) == (",", ".", "-")


def format_number(value: Any, decimals: int | None = None, locale: str | None = SOURCE_LOCALE) -> str:
    if value is None:
        return ""
    if decimals is None:
        decimals = 0 if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral()) else 2
    # Babel's general formatter costs ~0.15 ms a value (a detail page's related lists show a dozen
    # counts); where the locale's symbols are plain the text is written directly, the same as Babel's.
    if type(value) in (int, float, Decimal) and _plain_symbols(locale):
        written = _written_decimal(value, max(decimals, 0))
        if written is not None:
            return written
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=cldr_locale(locale), decimal_quantization=True)


def _written_decimal(value: int | float | Decimal, decimals: int) -> str | None:
    """`#,##0.00…` with half-even rounding of the decimal the value prints as, as Babel writes it
    (a negative amount that rounds to zero keeps its sign there too); None for what it does not
    cover (not finite, beyond the decimal context's precision)."""
    try:
        amount = (value if isinstance(value, Decimal) else Decimal(str(value))).quantize(
            QUANTA[decimals] if decimals < len(QUANTA) else Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN)
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return f"{amount:,.{decimals}f}"



# Currencies written without Babel's general formatter (~0.2 ms a value; a list page shows ~50):
# CNY is written as in zh in every language (below), so its symbol, separators and pattern never
# vary. tests/test_translation.py compares both over random amounts.
WRITTEN_CURRENCIES = {"CNY": "¥"}


def format_money(value: Any, currency: str, locale: str | None) -> str:
    """An amount with its currency as the locale writes it (¥1,234.50 for CNY in zh and en alike)."""
    if value is None:
        return ""
    symbol = WRITTEN_CURRENCIES.get(currency)
    if symbol is not None and type(value) in (int, float, Decimal):
        written = _written_money(value, symbol)
        if written is not None:
            return written
    where = cldr_locale(locale)
    if currency == "CNY":
        # CLDR writes CNY as 'CN¥' outside China; Atrium's sites are Chinese, so ¥ in every language.
        where = cldr_locale("zh")
    return format_currency(value, currency, locale=where, currency_digits=False, format="¤#,##0.00")


def _written_money(value: int | float | Decimal, symbol: str) -> str | None:
    """`¤#,##0.00` as Babel writes it (see _written_decimal); None for what that does not cover."""
    text = _written_decimal(value, 2)
    if text is None:
        return None
    return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"


# The CLDR fields the shipped date patterns use, written directly: Babel's general formatter costs
# ~0.1 ms a value (a detail page shows some twenty dates); any other pattern still goes to Babel.
NUMERIC_FIELDS: dict[str, Callable[[Any], str]] = {
    "y": lambda t: str(t.year), "yyyy": lambda t: f"{t.year:04d}", "M": lambda t: str(t.month),
    "MM": lambda t: f"{t.month:02d}", "d": lambda t: str(t.day), "dd": lambda t: f"{t.day:02d}",
    "HH": lambda t: f"{t.hour:02d}", "mm": lambda t: f"{t.minute:02d}"}


@lru_cache(maxsize=32)
def numeric_pattern(pattern: str) -> tuple[Callable[[Any], str] | str, ...] | None:
    """A date pattern made of NUMERIC_FIELDS and plain text as its parts, else None."""
    if "'" in pattern:
        return None
    parts: list[Callable[[Any], str] | str] = []
    for match in re.finditer(r"([A-Za-z])\1*|[^A-Za-z]+", pattern):
        # only ASCII letters are CLDR fields: 年, 月, 日 are text (str.isalpha would take them for fields)
        token, field = match.group(0), match.group(1) is not None
        if field and token not in NUMERIC_FIELDS:
            return None
        parts.append(NUMERIC_FIELDS[token] if field else token)
    return tuple(parts)


def _written(value: Any, pattern: str) -> str | None:
    parts = numeric_pattern(pattern)
    if parts is None:
        return None
    return "".join(part if isinstance(part, str) else part(value) for part in parts)


def format_date(value: dt.date | None, locale: str | None) -> str:
    if value is None:
        return ""
    language = language_of(locale)
    pattern = DATE_PATTERNS.get(language, DATE_PATTERNS[SOURCE_LOCALE])
    written = _written(value, pattern)
    return written if written is not None else babel_format_date(value, pattern, locale=cldr_locale(language))


def format_datetime(value: dt.datetime | None, locale: str | None, timezone: str) -> str:
    if value is None:
        return ""
    language = language_of(locale)
    local = value.astimezone(ZoneInfo(timezone))
    pattern = DATETIME_PATTERNS.get(language, DATETIME_PATTERNS[SOURCE_LOCALE])
    written = _written(local, pattern)
    return written if written is not None else babel_format_datetime(local, pattern, tzinfo=local.tzinfo,
                                                                     locale=cldr_locale(language))
