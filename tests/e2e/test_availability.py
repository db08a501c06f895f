"""Availability on the running stack with time travel (R44, R45 15.3): a real site, the node's
prober probing it every 2 s over HTTP, an outage made real for the prober (the node's drill file),
a maintenance window announced beforehand covering part of it, no incident reported.

The business clock is shared by the whole e2e session and only moves forward: the month measured is
the one after the clock's month as this test finds it. Probes are stored at the back office's
business time of receipt, so each jump of the clock places the next probes in the month. Other
tests may declare maintenance or force majeure on every node (the schemathesis run does): the
expected figure is computed from the probes stored in the table and the events the API lists.
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import boto3

from chalicelib.domain.calendar import PARIS
from devstack.pay import payment_succeeded_event, post_webhook, sign
from nodeagent.prober import DRILL_FILE
from tests.e2e.conftest import set_clock, site, wait_until
from tests.helpers import professional_order

UTC = timezone.utc
CLOCK_CACHE_SECONDS = 1.5  # each process reads the shared clock offset at most once a second


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def stored_probes(stack, contract_id: str, start: datetime, end: datetime) -> list[dict]:
    """The probes of a space in [start, end) as the back office stored them, read from the table."""
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.dynamodb_endpoint or stack.endpoint, region_name="eu-west-3",
                            aws_access_key_id="test", aws_secret_access_key="test")
    found, token = [], None
    while True:
        page = dynamodb.query(
            TableName=f"{stack.resource_prefix}-probes",
            KeyConditionExpression="contract_id = :c AND #at BETWEEN :low AND :high",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues={":c": {"S": contract_id}, ":low": {"S": _iso(start)}, ":high": {"S": _iso(end)}},
            ConsistentRead=True, **({"ExclusiveStartKey": token} if token else {}))
        found += [{"at": datetime.fromisoformat(i["at"]["S"]), "up": i["up"]["BOOL"]} for i in page["Items"]]
        token = page.get("LastEvaluatedKey")
        if not token:
            return found


def merged(intervals):
    out = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def minus(a, b):
    out = []
    for start, end in merged(a):
        for b_start, b_end in merged(b):
            if b_end <= start or b_start >= end:
                continue
            if b_start > start:
                out.append((start, b_start))
            start = max(start, b_end)
        if start < end:
            out.append((start, end))
    return out


def seconds(intervals) -> Decimal:
    return sum((Decimal(str((e - s).total_seconds())) for s, e in merged(intervals)), Decimal(0))


def test_R44_R45_a_month_with_a_maintenance_window_and_an_unreported_outage_gives_the_expected_figure(stack, api):
    email = f"availability-{stack.resource_prefix}@acme-e2e.fr"
    domain = "e2e-availability.fr"
    status, order = api.call("POST", "/orders", professional_order(
        domain_name=domain, customer={"email": email, "siren": "404000069"}))
    assert status == 201, order
    payment = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"],
                                      contract_id=order["contract_id"])
    assert post_webhook(stack.api_url, payment, sign(payment, stack.webhook_secret))[0] == 200
    contract_id = api.wait_contract(order["contract_id"], {"active"})["contract_id"]
    assert site(stack, domain)[0] == 200
    drill = Path(stack.workdir) / "node" / stack.node_id / DRILL_FILE

    # The month after the clock's month (Paris).
    now = datetime.fromisoformat(api.call("GET", "/dev/clock", operator=True)[1]["now"]).astimezone(PARIS)
    first = date(now.year + (now.month == 12), now.month % 12 + 1, 1)
    month_start = datetime(first.year, first.month, 1, tzinfo=PARIS)
    month_end = datetime(first.year + (first.month == 12), first.month % 12 + 1, 1, tzinfo=PARIS)
    month = f"{first.year:04d}-{first.month:02d}"
    day_10 = month_start + timedelta(days=9)

    def wait_probe(up: bool, after: datetime, what: str) -> None:
        wait_until(lambda: any(p["up"] == up for p in stored_probes(stack, contract_id, after, month_end)),
                   what, timeout=30)

    # R44 (15.2): a maintenance window announced beforehand, 01:00-03:00 on the 10th.
    set_clock(api, month_start + timedelta(hours=1))
    status, window = api.call("POST", "/admin/maintenance-windows", {
        "start": (day_10 + timedelta(hours=1)).isoformat(), "end": (day_10 + timedelta(hours=3)).isoformat(),
        "node_ids": [stack.node_id], "description": "Mise à jour du serveur web"}, operator=True)
    assert status == 201 and not window["announced_afterwards"], window
    time.sleep(CLOCK_CACHE_SECONDS)
    wait_probe(True, month_start, "the site probed up in the month")

    # The outage: from about 02:00 on the 10th (inside the window) to just after 05:00.
    set_clock(api, day_10 + timedelta(hours=2))
    time.sleep(CLOCK_CACHE_SECONDS)
    drill.write_text(f"{domain}\n")
    try:
        wait_probe(False, day_10 + timedelta(hours=2), "the outage seen by the prober")
        set_clock(api, day_10 + timedelta(hours=5))
        time.sleep(CLOCK_CACHE_SECONDS)
        wait_probe(False, day_10 + timedelta(hours=5), "the outage still seen three hours later")
    finally:
        drill.unlink(missing_ok=True)
    wait_probe(True, day_10 + timedelta(hours=5), "the site probed up again")

    # The month is over; the customer reported no incident (15.3).
    set_clock(api, month_end + timedelta(hours=1))
    time.sleep(CLOCK_CACHE_SECONDS)
    status, report = api.call("GET", f"/admin/contracts/{contract_id}/availability?month={month}", operator=True)
    assert status == 200, report

    # The same figure computed here from the stored probes and the announced events.
    probes = sorted(stored_probes(stack, contract_id, month_start, month_end), key=lambda p: p["at"])
    probes = [p for p in probes if p["at"] < month_end]
    downtime, run_start = [], None
    for probe in probes:
        if not probe["up"] and run_start is None:
            run_start = probe["at"]
        elif probe["up"] and run_start is not None:
            downtime.append((run_start, probe["at"]))
            run_start = None
    assert run_start is None and len(downtime) == 1, probes
    [(outage_start, outage_end)] = downtime
    assert day_10 + timedelta(hours=2) <= outage_start < day_10 + timedelta(hours=3) <= day_10 + timedelta(
        hours=5) < outage_end
    node = stack.node_id
    events = [(w["start"], w["end"], w["node_ids"]) for w in api.call(
        "GET", f"/admin/maintenance-windows?month={month}", operator=True)[1]["maintenance_windows"]]
    events += [(f["start"], f["end"], f["services"]) for f in api.call(
        "GET", f"/admin/force-majeure?month={month}", operator=True)[1]["force_majeure"]]
    excluded_other = merged(
        (max(datetime.fromisoformat(s), month_start), min(datetime.fromisoformat(e) if e else month_end, month_end))
        for s, e, nodes in events if nodes == "all" or node in nodes)
    unreported = minus(downtime, excluded_other)
    measured = seconds([(month_start, month_end)])
    base = measured - seconds(excluded_other)
    observed = None if not base else str(((1 - seconds(unreported) / base) * 100).quantize(
        Decimal("0.001"), rounding=ROUND_DOWN))

    assert report["measured_seconds"] == float(measured)
    assert report["counted_outages"] == [] and report["counted_downtime_seconds"] == 0  # nothing reported
    assert report["observed_availability_percent"] == observed, (report, downtime, excluded_other)
    assert [(o["start"], o["end"]) for o in report["unreported_outages"]] == [(_iso(s), _iso(e)) for s, e in unreported]
    assert Decimal(str(report["excluded_seconds"])) == seconds(excluded_other + unreported)
    assert report["probes"]["count"] == len(probes) and report["probes"]["failed"] == sum(not p["up"] for p in probes)
    listed = {(p["reason"], p["start"], p["end"]) for p in report["excluded_periods"]}
    assert ("maintenance", _iso(day_10 + timedelta(hours=1)), _iso(day_10 + timedelta(hours=3))) in listed
    assert all(("unreported_outage", _iso(s), _iso(e)) in listed for s, e in unreported)
    if base:  # 15.3: the unreported outage is excluded, nothing is counted: the commitment is met
        assert (report["availability_percent"], report["meets_commitment"]) == ("100.000", True)
    if len(events) == 1:  # only our window (no other test declared maintenance or force majeure on the node)
        assert unreported == [(day_10 + timedelta(hours=3), outage_end)]
        assert Decimal(observed) < Decimal("100")  # the outage was real: only 15.3 keeps it out of the figure
