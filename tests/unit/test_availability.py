"""R44 availability arithmetic and R50 force majeure thresholds (domain/availability.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.availability import (FORCE_MAJEURE, MAINTENANCE, SUSPENSION, UNREPORTED, Exclusion, Probe,
                                            availability_report, check_period, downtime_intervals, force_majeure_covers,
                                            in_force_and_holds, intersect, may_terminate_for_force_majeure, merge,
                                            order_status_changes,
                                            month_bounds, month_of, percent_up, subtract, termination_opens_at, total)
from chalicelib.domain.calendar import PARIS
from chalicelib.domain.errors import InvalidInputError

UTC = timezone.utc
TARGET = Decimal("99.8")
DEC = month_bounds("2026-12")          # 31 days, no DST change
T0 = DEC[0]


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours, minutes=minutes)


def report(probes=(), exclusions=(), reported=(), in_force=None, period=DEC):
    return availability_report(period=period, in_force=[period] if in_force is None else in_force, probes=probes,
                               exclusions=exclusions, reported=reported, target_percent=TARGET)


def probes(*spec: tuple[float, bool]) -> list[Probe]:
    """(hours after the start of December, up)."""
    return [Probe(at(hours=h), up) for h, up in spec]


# ---- months in Paris ------------------------------------------------------------------------------

def test_R44_a_month_is_the_paris_calendar_month():
    start, end = month_bounds("2026-12")
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=PARIS), datetime(2027, 1, 1, tzinfo=PARIS))
    assert start.astimezone(UTC) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert end - start == timedelta(days=31)


@pytest.mark.parametrize("month, hours", [("2027-03", 31 * 24 - 1), ("2027-10", 31 * 24 + 1), ("2027-02", 28 * 24),
                                          ("2028-02", 29 * 24)])
def test_R44_dst_months_are_an_hour_shorter_or_longer(month, hours):
    start, end = month_bounds(month)
    assert (end.astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=hours)


def test_R44_the_month_of_an_instant_is_taken_in_paris():
    assert month_of(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == "2026-12"
    assert month_of(datetime(2026, 11, 30, 22, 59, tzinfo=UTC)) == "2026-11"


@pytest.mark.parametrize("month", ["", "2026-13", "2026-00", "2026-1", "26-12", "9999-12", "1999-12", "2026-12-01"])
def test_R44_a_bad_month_is_refused(month):
    with pytest.raises(InvalidInputError) as error:
        month_bounds(month)
    assert error.value.code == "invalid_month"


def test_R44_periods_must_be_aware_in_range_and_end_after_start():
    check_period(at(0), at(1))
    check_period(at(0), None)
    for start, end in [(at(1), at(0)), (at(0), at(0)), (datetime(2026, 12, 1), None),
                       (datetime(9999, 12, 31, tzinfo=UTC), None)]:
        with pytest.raises(InvalidInputError):
            check_period(start, end)


# ---- interval arithmetic --------------------------------------------------------------------------

def test_R44_overlapping_intervals_are_merged_never_counted_twice():
    a = [(at(hours=1), at(hours=3)), (at(hours=2), at(hours=5)), (at(hours=5), at(hours=6)), (at(hours=8), at(hours=8))]
    assert merge(a) == [(at(hours=1), at(hours=6))]
    assert total(a) == timedelta(hours=5)
    assert intersect(a, [(at(hours=4), at(hours=10))]) == [(at(hours=4), at(hours=6))]
    assert subtract([(at(0), at(hours=10))], a) == [(at(0), at(hours=1)), (at(hours=6), at(hours=10))]


# ---- downtime from probes -------------------------------------------------------------------------

def test_R44_an_outage_runs_from_the_first_failed_probe_to_the_next_successful_one():
    seen = probes((1, True), (2, False), (2.5, False), (4, True), (5, False), (6, True))
    assert downtime_intervals(seen) == [(at(hours=2), at(hours=4)), (at(hours=5), at(hours=6))]


def test_R44_missing_probes_are_unknown_not_down():
    # a gap before the failure is not down; a failed run with no later success ends at its last failed probe
    seen = probes((1, True), (30, False), (31, False))
    assert downtime_intervals(seen) == [(at(hours=30), at(hours=31))]
    assert downtime_intervals(probes((30, False))) == []          # one isolated failure: no measurable span
    assert downtime_intervals([]) == []
    assert report(probes((1, True), (200, True))).availability_percent == Decimal("100.000")


def test_R44_an_outage_running_past_the_month_end_is_clipped_to_the_month():
    end = DEC[1]
    seen = [Probe(end - timedelta(hours=1), False), Probe(end + timedelta(hours=2), True)]
    r = report(seen, reported=[(end - timedelta(hours=2), end + timedelta(days=1))])
    assert r.counted == [(end - timedelta(hours=1), end)]


# ---- the figure -----------------------------------------------------------------------------------

def test_R44_a_reported_outage_counts_against_the_month():
    seen = probes((10, True), (11, False), (12, True))     # one hour down, reported
    r = report(seen, reported=[(at(hours=10, minutes=30), at(hours=13))])
    month = Decimal(31 * 24 * 3600)
    assert r.counted == [(at(hours=11), at(hours=12))] and r.unreported == []
    assert r.availability_percent == ((1 - Decimal(3600) / month) * 100).quantize(Decimal("0.001"), ROUND_DOWN)
    assert r.availability_percent == Decimal("99.865") and r.meets_commitment is True


def test_R44_15_3_an_unreported_outage_is_excluded_not_counted():
    seen = probes((10, True), (11, False), (14, True))     # three hours down, never reported
    r = report(seen)
    assert r.counted == [] and r.unreported == [(at(hours=11), at(hours=14))]
    assert r.availability_percent == Decimal("100.000") and r.meets_commitment
    assert [(x.reason, x.start, x.end) for x in r.excluded] == [(UNREPORTED, at(hours=11), at(hours=14))]
    assert r.excluded_seconds == Decimal(3 * 3600)
    # what the probes saw, every outage counted: 3 h of a 31-day month
    assert r.observed_percent == Decimal("99.596")


def test_R44_only_the_reported_part_of_an_outage_counts():
    seen = probes((10, True), (11, False), (15, True))
    r = report(seen, reported=[(at(hours=13), at(hours=20))])
    assert r.counted == [(at(hours=13), at(hours=15))]
    assert r.unreported == [(at(hours=11), at(hours=13))]


def test_R44_maintenance_force_majeure_and_suspension_overlapping_are_excluded_once():
    """Maintenance 10:00-12:00, force majeure 11:00-14:00, suspension 13:00-15:00 overlap: 10:00-15:00
    is excluded once (5 h); the reported outage 09:00-16:00 counts only outside it (2 h)."""
    exclusions = [Exclusion(at(hours=10), at(hours=12), MAINTENANCE, "mw_1", "mise à jour"),
                  Exclusion(at(hours=11), at(hours=14), FORCE_MAJEURE, "fm_1", "inondation"),
                  Exclusion(at(hours=13), at(hours=15), SUSPENSION, None, "non_payment")]
    seen = probes((8, True), (9, False), (16, True))
    r = report(seen, exclusions, reported=[(at(hours=8), at(hours=17))])
    assert r.excluded_seconds == Decimal(5 * 3600)
    assert r.counted == [(at(hours=9), at(hours=10)), (at(hours=15), at(hours=16))]
    assert r.counted_seconds == Decimal(2 * 3600)
    base = Decimal(31 * 24 * 3600 - 5 * 3600)
    assert r.availability_percent == ((1 - Decimal(7200) / base) * 100).quantize(Decimal("0.001"), ROUND_DOWN)
    # each excluded period is listed with its own reason (overlaps shown, counted once)
    assert [x.reason for x in r.excluded] == [MAINTENANCE, FORCE_MAJEURE, SUSPENSION]


def test_R44_measured_is_the_month_within_the_contract_s_life_in_force():
    life = [(at(days=10), DEC[1] + timedelta(days=300))]   # active from 11 December
    r = report(in_force=life)
    assert r.measured == [(at(days=10), DEC[1])]
    assert r.measured_seconds == Decimal(21 * 24 * 3600)
    assert report(in_force=[]).availability_percent is None and report(in_force=[]).meets_commitment is None


def test_R44_an_ongoing_force_majeure_is_excluded_to_the_end_of_the_period():
    r = report(exclusions=[Exclusion(at(days=30), None, FORCE_MAJEURE, "fm_1")])
    assert r.excluded_seconds == Decimal(24 * 3600)


def test_R44_the_figure_is_rounded_down_so_the_commitment_is_never_flattered():
    month = timedelta(days=31)                 # 2 678 400 s: 0.2 % of it is 5 356.8 s
    for down, shown, meets in ((5356, "99.800", True), (5357, "99.799", False)):
        figure = percent_up(timedelta(seconds=down), month)
        exact = (1 - Decimal(down) / Decimal(31 * 86400)) * 100
        assert str(figure) == shown and figure <= exact < figure + Decimal("0.001")
        assert (figure >= TARGET) == (exact >= TARGET) == meets
    assert percent_up(timedelta(0), timedelta(0)) is None


def test_R44_R23_holds_history_gives_life_in_force_and_excluded_restrictions_and_suspensions():
    timeline = [(at(days=-5), "provisioning", None), (at(days=-4), "active", None),
                (at(days=3), "restricted", "non_payment"), (at(days=10), "suspended", "non_payment"),
                (at(days=12), "active", None), (at(days=20), "terminated", "force_majeure")]
    in_force, holds = in_force_and_holds(timeline, DEC[1])
    assert in_force == [(at(days=-4), at(days=20))]
    assert [(h.reason, h.start, h.end, h.description) for h in holds] == [
        ("restriction", at(days=3), at(days=10), "non_payment"),
        ("suspension", at(days=10), at(days=12), "non_payment")]


def test_R44_changes_logged_at_the_same_instant_are_chained_by_their_before_status():
    same = at(0)
    changes = [(same, "provisioning", "active", None), (same, None, "awaiting_payment", None),
               (same, "awaiting_payment", "provisioning", None), (at(days=3), "active", "suspended", "abuse")]
    assert order_status_changes(changes) == [(same, "awaiting_payment", None), (same, "provisioning", None),
                                             (same, "active", None), (at(days=3), "suspended", "abuse")]


# ---- hypothesis: the figure is always a percentage, exclusions never exceed what was measured -------

hours = st.integers(min_value=-48, max_value=31 * 24 + 48)


@st.composite
def spans(draw):
    start = draw(hours)
    return at(hours=start), at(hours=start + draw(st.integers(min_value=1, max_value=24 * 40)))


@settings(max_examples=300, deadline=None)
@given(seen=st.lists(st.tuples(hours, st.booleans()), max_size=40),
       excluded=st.lists(st.tuples(spans(), st.sampled_from([MAINTENANCE, FORCE_MAJEURE, SUSPENSION])), max_size=6),
       reported=st.lists(spans(), max_size=4), life=st.lists(spans(), max_size=3))
def test_R44_excluded_never_more_than_measured_and_availability_within_0_100(seen, excluded, reported, life):
    r = report([Probe(at(hours=h), up) for h, up in seen],
               [Exclusion(s, e, reason) for (s, e), reason in excluded], reported, in_force=life)
    assert Decimal(0) <= r.excluded_seconds <= r.measured_seconds
    assert r.counted_seconds <= r.measured_seconds - r.excluded_seconds
    for figure in (r.availability_percent, r.observed_percent):
        assert figure is None or Decimal(0) <= figure <= Decimal(100)
    assert (r.availability_percent is None) == (r.measured_seconds == r.excluded_seconds)
    for x in r.excluded:                      # every listed period lies within what was measured
        assert intersect([(x.start, x.end)], r.measured) == [(x.start, x.end)]
    # counted and unreported outages are disjoint parts of the downtime
    assert intersect(r.counted, r.unreported) == []
    assert total(r.counted) + total(r.unreported) <= total(r.downtime)


# ---- R50: force majeure ---------------------------------------------------------------------------

def test_R50_an_event_for_all_services_covers_every_node_else_only_those_named():
    assert force_majeure_covers("all", "node-1") and force_majeure_covers(["node-1"], "node-1")
    assert not force_majeure_covers(["node-2"], "node-1") and not force_majeure_covers(["node-1"], None)


def test_R50_termination_opens_after_more_than_30_days_ongoing_or_ended():
    start = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    opens = termination_opens_at(start, 30)
    assert opens == datetime(2027, 2, 3, 8, 0, tzinfo=UTC)
    assert not may_terminate_for_force_majeure(start, None, opens, 30)                     # exactly 30 days: not more
    assert may_terminate_for_force_majeure(start, None, opens + timedelta(seconds=1), 30)   # ongoing past 30 days
    assert not may_terminate_for_force_majeure(start, opens, opens + timedelta(days=9), 30)  # ended at 30 days
    assert may_terminate_for_force_majeure(start, opens + timedelta(minutes=1), opens + timedelta(days=9), 30)
    # an end declared in the future does not count before it happens
    assert not may_terminate_for_force_majeure(start, opens + timedelta(days=5), opens - timedelta(days=1), 30)


def test_R50_thirty_days_are_calendar_days_in_paris_across_a_dst_change():
    start = datetime(2027, 3, 10, 12, 0, tzinfo=PARIS)    # +01:00; 30 days later is +02:00
    assert termination_opens_at(start, 30) == datetime(2027, 4, 9, 12, 0, tzinfo=PARIS)
    assert termination_opens_at(start, 30).astimezone(UTC) - start.astimezone(UTC) == timedelta(days=30, hours=-1)
