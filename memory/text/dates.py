"""Month and weekday names, and calendar dates written the way the facts write them."""

import functools
from collections.abc import Callable
from datetime import date
from typing import ParamSpec

from memory.text.patterns import alternation

MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
# Month numbers by full name and by the abbreviations people write: "jan", "sep", "sept".
MONTHS = (
    {name: i + 1 for i, name in enumerate(MONTH_NAMES)}
    | {name[:3]: i + 1 for i, name in enumerate(MONTH_NAMES)}
    | {"sept": 9}
)
MONTH_PATTERN = alternation(MONTHS)

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Weekday numbers (Monday is 0, as in ``date.weekday``) by name and abbreviation.
WEEKDAYS = {name: i for i, name in enumerate(WEEKDAY_NAMES)} | {
    "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4,
    "sat": 5, "sun": 6,
}  # fmt: skip


def format_date(day: date) -> str:
    """ "7 May 2023"."""
    return f"{day.day} {MONTH_NAMES[day.month - 1].title()} {day.year}"


def format_day_and_month(day: date) -> str:
    """ "7 May", as a birthday is said."""
    return f"{day.day} {MONTH_NAMES[day.month - 1].title()}"


def calendar_year(year: int) -> int:
    """``year`` itself, or ValueError when it is outside the calendar's years 1 to 9999."""
    if not 1 <= year <= 9999:
        raise ValueError(f"year {year} is outside the calendar")
    return year


def month_text(year: int, month: int, shift: int = 0) -> str:
    """ "May 2023" for month 5 of 2023, or ``shift`` months away from it."""
    index = year * 12 + month - 1 + shift
    return f"{MONTH_NAMES[index % 12].title()} {calendar_year(index // 12)}"


_P = ParamSpec("_P")


def none_past_the_calendar(resolve: Callable[_P, str | None]) -> Callable[_P, str | None]:
    """Date arithmetic that leaves the calendar's years 1 to 9999 ("in 100000 days", "last
    year" said on 1 January of year 1, a client's 0001-01-01 for no date) gives None: the
    expression then stays as said, as one that cannot be pinned down does."""

    @functools.wraps(resolve)
    def resolved(*args: _P.args, **kwargs: _P.kwargs) -> str | None:
        try:
            return resolve(*args, **kwargs)
        except (OverflowError, ValueError):
            return None

    return resolved
