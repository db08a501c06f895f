"""Paris time. Every deadline of the terms is computed in Europe/Paris."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as _holidays
from dateutil.easter import easter as _easter

PARIS = ZoneInfo("Europe/Paris")


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: every time in the back office is zone-aware")
    return moment


def paris_date(moment: datetime) -> date:
    """The calendar day in Paris of an instant."""
    return require_aware(moment).astimezone(PARIS).date()


def utc_iso(moment: datetime) -> str:
    return require_aware(moment).astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime:
    return require_aware(datetime.fromisoformat(text))


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def age_on(birth_date: date, day: date) -> int:
    """Completed years of age on `day`."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


# --- French business calendar (Time paragraph, R13, R43, R24) ----------------------------------
#
# Public holidays come from the maintained `holidays` package, never from a hand-written list.
# `holidays.France()` without a subdivision is the national (metropolitan) calendar: the
# Alsace-Moselle days (Good Friday, St Stephen's Day on 26 December) are only added for the
# subdivisions "57" (Moselle) and "6AE" (Alsace), and the overseas days only for their own
# subdivisions, so none of them is a holiday here. School holidays are a separate category
# (SCHOOL) and are excluded by asking for PUBLIC only.
#
# Whit Monday ("lundi de Pentecôte"): the package lists it every year except 2005-2007, the
# years when the loi n° 2004-626 turned it into the "journée de solidarité". The rules name
# Whit Monday as a non-business day without exception, so it is added explicitly for every
# year (Easter Sunday + 50 days, Easter from `dateutil.easter`, the package's own dependency).

BUSINESS_OPENING = time(9, 0)
BUSINESS_CLOSING = time(17, 0)
WITHDRAWAL_CLEAR_DAYS = 14                      # R13: quatorze jours francs
RECOVERY_INDEMNITY_CENTS = 4000                 # R24: indemnité forfaitaire de recouvrement, €40
PENALTY_DAY_COUNT_BASIS = 365                   # R24: Actual/365 simple interest


@lru_cache(maxsize=None)
def _public_holidays(year: int) -> frozenset[date]:
    """Metropolitan French public holidays of `year` (Whit Monday always included)."""
    if not _holidays.France.start_year <= year <= _holidays.France.end_year:
        # Outside its range the package silently returns no holiday at all; refuse instead of
        # turning 14 July into a business day.
        raise ValueError(f"no French holiday calendar for year {year}")
    calendar = _holidays.France(years=year, subdiv=None, categories=(_holidays.PUBLIC,))
    whit_monday = _easter(year) + timedelta(days=50)
    return frozenset(calendar) | {whit_monday}


def _require_date(day: date) -> date:
    # A datetime is a date, but never equal to one: `datetime(2026, 7, 14) in {date(2026, 7,
    # 14)}` is False, so accepting it would silently make every holiday a business day.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError("expected a calendar date; use paris_date(moment) for an instant")
    return day


def is_public_holiday(day: date) -> bool:
    """A French public holiday of the metropolitan calendar (Whit Monday included)."""
    return _require_date(day) in _public_holidays(day.year)


def is_business_day(day: date) -> bool:
    """Not a Saturday, not a Sunday, not a metropolitan French public holiday."""
    return _require_date(day).weekday() < 5 and not is_public_holiday(day)


def next_business_day(day: date) -> date:
    """`day` itself when it is a business day, else the first business day after it."""
    _require_date(day)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def _paris_midnight(day: date) -> datetime:
    # 00:00 always exists and is unambiguous in Paris (the changes happen at 02:00 / 03:00).
    return datetime.combine(day, time(0), tzinfo=PARIS)


def withdrawal_deadline(validated_at: datetime) -> datetime:
    """R13: the first instant at which a consumer can no longer withdraw (exclusive end).

    Fourteen *jours francs* from the online validation: the validation day (its calendar day in
    Europe/Paris) is not counted, and the window runs to the end (24:00 Paris) of the 15th day
    after it. When that 15th day is a Saturday, a Sunday or a public holiday, the window runs to
    the end of the next business day instead. The result is that end expressed as the next
    day's 00:00 Europe/Paris (zone-aware): withdrawal is allowed strictly before it.
    """
    validation_day = paris_date(validated_at)
    last_day = next_business_day(validation_day + timedelta(days=WITHDRAWAL_CLEAR_DAYS + 1))
    return _paris_midnight(last_day + timedelta(days=1))


def withdrawal_open(validated_at: datetime, at: datetime) -> bool:
    """R13 time window only: `validated_at <= at < withdrawal_deadline(validated_at)`.

    The loss of the right by first use of the service (also R13) is not a calendar matter and
    is checked by the caller.
    """
    return require_aware(validated_at) <= require_aware(at) < withdrawal_deadline(validated_at)


def add_business_hours(start: datetime, hours: int) -> datetime:
    """R43: the instant `hours` business hours after `start`, zone-aware in Europe/Paris.

    Business hours are 09:00-17:00 Paris wall time on business days. A start outside them
    (before 09:00, after 17:00, or on a non-business day) starts counting at the next opening;
    a start at exactly 17:00 has no time left that day. A count that ends exactly at closing
    ends at 17:00 that day, not at the next opening. So 48 business hours are 6 business days
    of 8 hours, and add_business_hours(add_business_hours(s, a), b) == add_business_hours(s, a + b).

    The count runs in Paris wall time and is converted back at the end; DST changes happen at
    02:00/03:00, outside business hours, so a business hour of wall time is always a real hour.
    """
    require_aware(start)
    if isinstance(hours, bool) or not isinstance(hours, int):
        raise TypeError("hours must be an int")
    if hours < 0:
        raise ValueError("hours must not be negative")
    local = start.astimezone(PARIS).replace(tzinfo=None)
    day = local.date()
    if not is_business_day(day):
        day = next_business_day(day)
        cursor = datetime.combine(day, BUSINESS_OPENING)
    elif local.time() > BUSINESS_CLOSING:
        day = next_business_day(day + timedelta(days=1))
        cursor = datetime.combine(day, BUSINESS_OPENING)
    else:
        cursor = max(local, datetime.combine(day, BUSINESS_OPENING))
    remaining = timedelta(hours=hours)
    while True:
        available = datetime.combine(day, BUSINESS_CLOSING) - cursor
        if remaining <= available:
            return (cursor + remaining).replace(tzinfo=PARIS)
        remaining -= available
        day = next_business_day(day + timedelta(days=1))
        cursor = datetime.combine(day, BUSINESS_OPENING)


def late_penalty_cents(
    unpaid_cents: int,
    annual_rate_percent: Decimal,
    due_date: date,
    paid_on: date,
    professional: bool,
) -> int:
    """R24: late penalties, in cents, on an amount paid on `paid_on` instead of `due_date`.

    Penalties accrue from the day after the due date up to and including the payment day, so
    the number of days late is `(paid_on - due_date).days` (0 when paid on or before the due
    date, and then the result is 0). Simple interest on the whole unpaid amount at the annual
    rate printed on the invoice, Actual/365: actual calendar days over a fixed 365-day year,
    leap years included (the convention of the French statutory interest computations, and
    the one the rate is quoted for). The interest is computed exactly (Decimal rate, integer
    arithmetic, no float) and rounded half-up to the cent once, at the end. Professionals owe
    the fixed €40 recovery indemnity (4000 cents) on top as soon as one day is late. Nothing
    unpaid means nothing late: 0.
    """
    if isinstance(unpaid_cents, bool) or not isinstance(unpaid_cents, int):
        raise TypeError("unpaid_cents must be an int")
    if isinstance(annual_rate_percent, (bool, float)) or not isinstance(annual_rate_percent, (Decimal, int)):
        raise TypeError("annual_rate_percent must be a Decimal (never a float)")
    rate = Decimal(annual_rate_percent)
    if not rate.is_finite() or rate < 0:
        raise ValueError("annual_rate_percent must be a finite, non-negative number")
    if unpaid_cents < 0:
        raise ValueError("unpaid_cents must not be negative")
    days_late = (_require_date(paid_on) - _require_date(due_date)).days
    if days_late <= 0 or unpaid_cents == 0:
        return 0
    rate_numerator, rate_denominator = rate.as_integer_ratio()
    numerator = unpaid_cents * rate_numerator * days_late
    denominator = rate_denominator * 100 * PENALTY_DAY_COUNT_BASIS
    interest_cents = (2 * numerator + denominator) // (2 * denominator)  # half-up, exact
    return interest_cents + (RECOVERY_INDEMNITY_CENTS if professional else 0)
