"""The instants at which a contract's or order's deadlines fall (R14, R16, R17, R19, R20).

Pure functions of dates and configured periods, zone-aware in Europe/Paris: a day-based deadline
falls at a fixed Paris wall time whatever the DST offset that day (so `days` apart is not always
`days * 24` hours apart). Timers are scheduled at these instants.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from .calendar import PARIS, add_months, require_aware

NOTICE_HOUR = time(9, 0)  # notices leave at 09:00 Paris time


def contract_end_at(ends_on: date) -> datetime:
    """R16/R19: a contract ends at the start (00:00 Paris) of its end date."""
    return datetime.combine(ends_on, time(0, 0), tzinfo=PARIS)


def expiry_notice_at(ends_on: date, notice_days: int) -> datetime:
    """R17: the expiry notice leaves at 09:00 Paris, `notice_days` calendar days before the end
    date; more than 45 days before the end (the configuration refuses 45 or fewer)."""
    if notice_days <= 45:
        raise ValueError("R17: the notice must leave more than 45 days before the end")
    return datetime.combine(ends_on - timedelta(days=notice_days), NOTICE_HOUR, tzinfo=PARIS)


def data_deletion_at(ended_at: datetime, retention_days: int) -> datetime:
    """R20: hosted data is deleted `retention_days` calendar days after the end (same Paris wall time)."""
    local = require_aware(ended_at).astimezone(PARIS)
    return datetime.combine(local.date() + timedelta(days=retention_days), local.time(), tzinfo=PARIS)


def deletion_warning_at(deletion_at: datetime, warning_days: int) -> datetime:
    """R20: the warning leaves `warning_days` calendar days before the deletion (same Paris wall time)."""
    local = require_aware(deletion_at).astimezone(PARIS)
    return datetime.combine(local.date() - timedelta(days=warning_days), local.time(), tzinfo=PARIS)


def order_expiry_at(registered_at: datetime) -> datetime:
    """R14: an order's offer holds one calendar month from its registration (same Paris wall time;
    the 31st becomes the month's last day)."""
    local = require_aware(registered_at).astimezone(PARIS)
    return datetime.combine(add_months(local.date(), 1), local.time(), tzinfo=PARIS)
