"""Time expressions in chat, and their absolute form against the day they were said.

Said on 7 May 2023, "yesterday" is "on 6 May 2023", "3 weeks ago" is "in the week of 16 April
2023" and "next month" is "in June 2023".

``TIME`` finds one expression; ``resolve_time`` pins it down for a past, future or unknown
tense; ``resolve_relative`` rewrites every relative one in a text and leaves explicit dates as
written.
"""

import re
from datetime import date, timedelta

from memory.text.dates import (
    MONTH_NAMES,
    MONTH_PATTERN,
    MONTHS,
    WEEKDAYS,
    calendar_year,
    format_date,
    month_text,
    none_past_the_calendar,
)
from memory.text.normalise import collapse_space
from memory.text.patterns import alternation

SEASONS = ("spring", "summer", "autumn", "fall", "winter")
_COUNT_VALUES = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a couple of": 2,
}
# Days away from the day said, by the phrase that means them.
FIXED_DAYS = {
    "the day before yesterday": -2,
    "yesterday": -1,
    "last night": -1,
    "earlier today": 0,
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "this afternoon": 0,
    "this evening": 0,
    "tomorrow": 1,
    "the day after tomorrow": 2,
}
_MONTH = MONTH_PATTERN
_WEEKDAY = rf"(?:{alternation(WEEKDAYS)})\.?"
_TIME_COUNT = (
    r"\d{1,2}|a couple of|a few|several|an|a|one|two|three|four|five|six|seven|eight|nine|ten"
)
_DAY_PART = r"(?:\s+(?:morning|afternoon|evening|night))?"
TIME = re.compile(
    rf"""\b(?:
        (?P<fixed>{alternation(FIXED_DAYS)})
      | (?P<vague>the\s+other\s+day|recently|lately|a\s+while\s+ago|some\s+time\s+ago)
      | (?P<rel>last|next|this|past|coming)\s+
        (?P<span>week|weekend|month|year|{alternation(SEASONS)}|{_WEEKDAY}){_DAY_PART}
      | (?:(?:about|around|almost|nearly|over|roughly|like)\s+)?
        (?P<ago_n>{_TIME_COUNT})\s+(?P<ago_unit>day|week|month|year)s?\s+ago
      | in\s+(?P<in_n>{_TIME_COUNT})\s+(?P<in_unit>day|week|month|year)s?
      | (?:on\s+)?(?:the\s+)?(?P<day1>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<month1>{_MONTH})
        \.?(?:,?\s+(?P<year1>\d{{4}}))?
      | (?:on\s+)?(?P<month2>{_MONTH})\.?\s+(?:the\s+)?(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?
        (?:,?\s+(?P<year2>\d{{4}}))?
      | on\s+(?P<weekday>{_WEEKDAY}){_DAY_PART}
      | in\s+(?P<month3>{_MONTH})(?:\s+(?P<year3>\d{{4}}))?
      | in\s+(?P<year4>(?:19|20)\d{{2}})
    )\b""",
    re.I | re.X,
)


def fixed_day_offset(phrase: str) -> int:
    """Days from the day said to the day a fixed phrase ("the day before yesterday") means."""
    return FIXED_DAYS[collapse_space(phrase.lower())]


def _count(word: str) -> int | None:
    word = collapse_space(word.lower())
    return int(word) if word.isdigit() else _COUNT_VALUES.get(word)


def _season_year(season: str, rel: str, today: date) -> int:
    """The year a season starts in, for "last/this/next <season>" said on ``today``."""
    starts = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}[season]
    current = today.year if today.month >= starts else today.year - 1
    if season == "winter" and today.month <= 2:
        current = today.year - 1
    if rel == "last":
        ends_before_today = season != "winter" and today.month >= starts + 3
        return current if ends_before_today else current - 1
    if rel == "next":
        return current + 1 if today.month >= starts or season == "winter" else current
    return current


def _offset_text(n: int, unit: str, today: date) -> str:
    if unit == "day":
        return f"on {format_date(today + timedelta(days=n))}"
    if unit == "week":
        return f"in the week of {format_date(today + timedelta(weeks=n))}"
    if unit == "month":
        return f"in {month_text(today.year, today.month, n)}"
    return f"in {calendar_year(today.year + n)}"


@none_past_the_calendar
def resolve_time(match: re.Match[str], today: date, tense: str) -> str | None:
    """The absolute form of a ``TIME`` match, or None when it cannot be pinned down.

    ``tense`` ("past", "future", anything else for neither) decides where a bare weekday, day or
    month falls: "on Friday" said in the past is the Friday before ``today``.
    """
    group = match.groupdict()
    if group["fixed"]:
        return f"on {format_date(today + timedelta(days=fixed_day_offset(group['fixed'])))}"
    if group["rel"]:
        rel = {"past": "last", "coming": "next"}.get(group["rel"].lower(), group["rel"].lower())
        span = group["span"].lower()
        step = {"last": -1, "this": 0, "next": 1}[rel]
        if span == "week":
            edge = {"last": "before", "this": "of", "next": "after"}[rel]
            return f"in the week {edge} {format_date(today)}"
        if span == "weekend":
            saturday = today + timedelta(days=5 - today.weekday() if today.weekday() < 6 else -1)
            return f"on the weekend of {format_date(saturday + timedelta(weeks=step))}"
        if span == "month":
            return f"in {month_text(today.year, today.month, step)}"
        if span == "year":
            return f"in {calendar_year(today.year + step)}"
        if span in SEASONS:
            name = "autumn" if span == "fall" else span
            return f"in the {name} of {calendar_year(_season_year(span, rel, today))}"
        target = WEEKDAYS[span.rstrip(".")]
        if rel == "last":
            back = (today.weekday() - target) % 7 or 7
            return f"on {format_date(today - timedelta(days=back))}"
        if rel == "next":
            ahead = (target - today.weekday()) % 7 or 7
            return f"on {format_date(today + timedelta(days=ahead))}"
        return f"on {format_date(today + timedelta(days=target - today.weekday()))}"
    if group["vague"]:
        return None
    if group["ago_n"] or group["in_n"]:
        count = _count(group["ago_n"] or group["in_n"])
        if count is None:
            return None  # "a few weeks ago" stays as said
        unit = (group["ago_unit"] or group["in_unit"]).lower()
        return _offset_text(-count if group["ago_n"] else count, unit, today)
    day_text, month_name = group["day1"] or group["day2"], group["month1"] or group["month2"]
    if day_text and month_name:
        year_text = group["year1"] or group["year2"]
        month = MONTHS[month_name.lower()]
        try:
            when = date(int(year_text) if year_text else today.year, month, int(day_text))
        except ValueError:
            return None
        if not year_text and tense == "past" and when > today:
            when = when.replace(year=when.year - 1)
        elif not year_text and tense == "future" and when < today:
            when = when.replace(year=when.year + 1)
        return f"on {format_date(when)}"
    if group["weekday"]:
        target = WEEKDAYS[group["weekday"].lower().rstrip(".")]
        if tense == "past":
            back = (today.weekday() - target) % 7 or 7
            return f"on {format_date(today - timedelta(days=back))}"
        if tense == "future":
            ahead = (target - today.weekday()) % 7 or 7
            return f"on {format_date(today + timedelta(days=ahead))}"
        return None
    if group["month3"]:
        month = MONTHS[group["month3"].lower()]
        year = int(group["year3"]) if group["year3"] else today.year
        if not group["year3"] and tense == "past" and month > today.month:
            year -= 1
        elif not group["year3"] and tense == "future" and month < today.month:
            year += 1
        return f"in {MONTH_NAMES[month - 1].title()} {year}"
    return f"in {group['year4']}"


def resolve_relative(text: str, today: date | None) -> str:
    """Pins relative dates ("tomorrow", "next week") down; explicit ones stay as said."""
    if today is None:
        return text

    def pin(match: re.Match[str]) -> str:
        group = match.groupdict()
        relative = group["fixed"] or group["rel"] or group["ago_n"] or group["in_n"]
        return (resolve_time(match, today, "future") if relative else None) or match.group()

    return TIME.sub(pin, text)
