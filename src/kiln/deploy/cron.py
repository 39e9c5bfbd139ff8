"""Schedule expressions, as EventBridge writes them: `rate(N minute(s)|hour(s)|day(s))` and
the 6-field `cron(minutes hours day-of-month month day-of-week year)` in UTC, with `*`,
`?`, numbers, ranges, lists, `/` steps and month/day names (day-of-week 1-7 = SUN-SAT;
one of the two day fields must be `?`). `L`, `W` and `#` are refused."""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kiln.errors import Unprocessable
from kiln.store.db import iso
from kiln.store.db import now as clock

__all__ = ["MIN_INTERVAL_S", "Cron", "next_run", "parse_expression"]

MIN_INTERVAL_S = 60
_HORIZON_DAYS = 366 * 5

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}


def _invalid(expression: str, why: str) -> Unprocessable:
    return Unprocessable(
        f"invalid schedule expression {expression[:80]!r}: {why}",
        code="invalid_schedule",
        details={"examples": ["rate(1 day)", "rate(6 hours)", "cron(0 9 ? * MON-FRI *)"]},
    )


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: `?`
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1-7 = SUN-SAT; None: `?`
    years: frozenset[int] | None  # None: `*`

    def matches_day(self, d: datetime) -> bool:
        if d.month not in self.months or (self.years is not None and d.year not in self.years):
            return False
        if self.days is not None:
            return d.day in self.days
        assert self.weekdays is not None
        return (d.weekday() + 1) % 7 + 1 in self.weekdays


def _field(
    expression: str, text: str, lo: int, hi: int, names: dict[str, int] | None = None
) -> frozenset[int]:
    values: set[int] = set()

    def number(token: str) -> int:
        token = token.upper()
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise _invalid(
                expression, f"{token!r} is not a value in {lo}-{hi} (L, W, # unsupported)"
            )
        value = int(token)
        if not lo <= value <= hi:
            raise _invalid(expression, f"{value} is outside {lo}-{hi}")
        return value

    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = number(step_text) if step_text else 1
        if step < 1:
            raise _invalid(expression, "a step must be at least 1")
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = number(first), number(last)
            if start > end:
                raise _invalid(expression, f"range {base} runs backwards")
        else:
            start = number(base)
            end = hi if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(expression: str, body: str) -> Cron:
    parts = body.split()
    if len(parts) != 6:
        raise _invalid(expression, "cron needs 6 fields: minutes hours day month weekday year")
    minute, hour, day, month, weekday, year = parts
    if (day == "?") == (weekday == "?"):
        raise _invalid(expression, "exactly one of day-of-month and day-of-week must be '?'")
    return Cron(
        minutes=_field(expression, minute, 0, 59),
        hours=_field(expression, hour, 0, 23),
        days=None if day == "?" else _field(expression, day, 1, 31),
        months=_field(expression, month, 1, 12, _MONTHS),
        weekdays=None if weekday == "?" else _field(expression, weekday, 1, 7, _DAYS),
        years=None if year == "*" else _field(expression, year, 1970, 2199),
    )


def parse_expression(expression: str) -> Callable[[float], float]:
    """Validate; return a function giving the first run strictly after a time (epoch s)."""
    text = expression.strip()
    if m := _RATE.match(text):
        interval = int(m.group(1)) * _UNIT_S[m.group(2).rstrip("s")]
        if interval < MIN_INTERVAL_S:
            raise _invalid(expression, "the value must be at least 1")
        return lambda after: float(math.ceil(after + interval))  # whole seconds
    if m := _CRON.match(text):
        cron = parse_cron(expression, m.group(1))
        if next_cron(cron, time_now := clock()) is None:
            raise _invalid(expression, f"it never fires after {iso(time_now)}")

        def following(after: float) -> float:
            at = next_cron(cron, after)
            if at is None:
                raise _invalid(expression, "it never fires again")
            return at

        return following
    raise _invalid(expression, "use rate(N minutes|hours|days) or cron(6 fields)")


def next_cron(cron: Cron, after: float) -> float | None:
    """First minute strictly after `after` that the expression matches (UTC)."""
    start = datetime.fromtimestamp(after, UTC).replace(second=0, microsecond=0) + timedelta(
        minutes=1
    )
    day = start.replace(hour=0, minute=0)
    for _ in range(_HORIZON_DAYS):
        if cron.matches_day(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    at = day.replace(hour=hour, minute=minute)
                    if at >= start:
                        return at.timestamp()
        day += timedelta(days=1)
    return None


def next_run(expression: str, after: float) -> float:
    return parse_expression(expression)(after)
