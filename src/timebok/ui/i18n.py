"""Looks up UI texts in the current language and formats dates the Norwegian (or English) way."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from timebok.ui.texts import en, nb

if TYPE_CHECKING:  # babel is slow to import: loaded on first use (_locale)
    from babel import Locale

LANGUAGES = ("nb", "en")
_CATALOGUES = {"nb": nb.TEXTS, "en": en.TEXTS}
_language = "nb"


def set_language(language: str) -> None:
    """Switch every later lookup to `language` ("nb" or "en")."""
    global _language
    if language not in _CATALOGUES:
        raise ValueError(f"unknown language {language!r}; choose one of {', '.join(LANGUAGES)}")
    _language = language
    _locale.cache_clear()


def language() -> str:
    """The language in use."""
    return _language


def has_text(key: str) -> bool:
    return key in nb.TEXTS


def _entry(key: str) -> str | dict[str, str]:
    text = _CATALOGUES[_language].get(key)
    # A missing English text falls back to Norwegian rather than showing a key to a user.
    return nb.TEXTS[key] if text is None else text


def t(key: str, /, **values: object) -> str:
    """The text for `key` in the current language, with `{name}` fields filled in."""
    text = _entry(key)
    if isinstance(text, dict):  # a text with plural forms, used without a count: the general form
        text = text["other"]
    return text.format(**values) if values else text


# Plural forms live in the Python catalogues (a dict of CLDR categories), not in gettext .po files: nb and
# en both need only «one» and «other», the catalogues stay one import with no compile step (CI builds from a
# clean clone) and no babel import before the first paint, and texts keep their ids, by which keys are rebound.
def plural_category(count: int) -> str:
    """CLDR plural category for nb and en alike: «one» for exactly 1, else «other»."""
    return "one" if count == 1 else "other"


def tn(key: str, count: int, **values: object) -> str:
    """The text for `key` in the plural form `count` asks for («1 melding», «2 meldinger»), `{count}` filled in."""
    text = _entry(key)
    if isinstance(text, dict):
        text = text.get(plural_category(count), text["other"])
    return text.format(count=count, **values)


@lru_cache(maxsize=4)
def _locale(lang: str) -> Locale:
    from babel import Locale  # babel is slow to import; keep it off the start-up path

    return Locale.parse("nb_NO" if lang == "nb" else "en_GB")


def long_date(day: date) -> str:
    """«torsdag 3. desember 2026» / «Thursday 3 December 2026»."""
    from babel.dates import format_date

    return format_date(day, "EEEE d. MMMM y" if _language == "nb" else "EEEE d MMMM y", locale=_locale(_language))


def short_date(day: date) -> str:
    """«3. des. 2026» / «3 Dec 2026»."""
    from babel.dates import format_date

    return format_date(day, "d. MMM y" if _language == "nb" else "d MMM y", locale=_locale(_language))


def day_month(day: date) -> str:
    """«15. des.» / «15 Dec»: a date this year or next, where the year goes without saying."""
    from babel.dates import format_date

    return format_date(day, "d. MMM" if _language == "nb" else "d MMM", locale=_locale(_language))


def clock_time(moment: datetime) -> str:
    """«kl. 08:30» / «08:30»."""
    return t("time.at", time=moment.strftime("%H:%M"))


def month_title(year: int, month: int) -> str:
    """«desember 2026» / «December 2026»."""
    from babel.dates import format_date

    return format_date(date(year, month, 1), "LLLL y", locale=_locale(_language))


def weekday_abbreviations() -> list[str]:
    """Monday-first two-letter weekday names: «ma ti on to fr lø sø»."""
    names = _locale(_language).days["stand-alone"]["abbreviated"]
    return [names[i][:2].lower() if _language == "nb" else names[i][:2] for i in range(7)]
