"""Availability (R44) from probe rounds, maintenance windows (15.2), force majeure (R50) and the
incidents the customer reported (R45, 15.3), through the consumers and the HTTP API (moto)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.adapters.dynamo_store import Effect
from chalicelib.adapters.models import ProbeModel
from chalicelib.contracts.node_messages import ProbeResult, SiteProbes
from chalicelib.domain.calendar import PARIS
from chalicelib.service.lifecycle import set_hold
from tests.helpers import give_password, login_headers
from tests.integration.conftest import NODE_ID, queue_messages, sqs_lambda_event
from tests.integration.test_lifecycle import active, move_to, notices  # noqa: F401  (fixture)

OP = {"Authorization": "Bearer op_local_dev_key", "Content-Type": "application/json"}
DOMAIN = "acme-test.fr"


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def iso(text: str) -> str:
    return paris(text).isoformat()


def probe_round(client, clock, contract_id: str, up: bool, *, round_id: str | None = None,
                status: int | None = None) -> SiteProbes:
    """One round of the node's prober for the contract's space, delivered to on_node_result."""
    message = SiteProbes(node_id=NODE_ID, round_id=round_id or uuid.uuid4().hex, probed_at=clock.now(), results=[
        ProbeResult(contract_id=contract_id, domain=DOMAIN, up=up, status=status or (200 if up else 502),
                    latency_ms=4)])
    deliver(client, message)
    return message


def deliver(client, message: SiteProbes) -> None:
    answer = client.lambda_.invoke("on_node_result", sqs_lambda_event([message.model_dump_json()]))
    assert answer.payload == {"batchItemFailures": []}


def probe_at(client, clock, contract_id: str, paris_text: str, up: bool) -> None:
    move_to(clock, paris_text)
    probe_round(client, clock, contract_id, up)


def post(client, path: str, body: dict, headers: dict = OP):
    answer = client.http.post(path, body=json.dumps(body), headers={"Content-Type": "application/json", **headers})
    return answer.status_code, json.loads(answer.body)


def get(client, path: str, headers: dict = OP):
    answer = client.http.get(path, headers=headers)
    return answer.status_code, json.loads(answer.body)


def stored(contract_id: str) -> list[ProbeModel]:
    return list(ProbeModel.query(contract_id))


# ---- probe rounds --------------------------------------------------------------------------------

def test_R44_a_probe_round_is_stored_at_business_time_of_receipt_and_a_redelivery_counts_once(client, active,
                                                                                              clock):
    contract_id = active["contract_id"]
    move_to(clock, "2026-12-05T10:00")
    message = probe_round(client, clock, contract_id, False)
    clock.advance(timedelta(minutes=7))  # SQS delivers the same round again, later
    deliver(client, message)
    deliver(client, message)
    [row] = stored(contract_id)
    assert row.at == paris("2026-12-05T10:00").astimezone(timezone.utc).isoformat(timespec="milliseconds")
    assert (row.up, row.status, row.domain, row.node_id, row.round_id) == (False, 502, DOMAIN, NODE_ID,
                                                                          message.round_id)
    assert row.expires_epoch > paris("2027-12-31T00:00").timestamp()  # kept ~400 days (TTL)
    probe_round(client, clock, contract_id, True)  # the next round is a row of its own
    assert [p.up for p in stored(contract_id)] == [False, True]


def test_R44_a_round_holds_every_site_of_the_node_once(client, active, clock):
    message = SiteProbes(node_id=NODE_ID, round_id="r1", probed_at=clock.now(), results=[
        ProbeResult(contract_id=f"ctr_{i}", domain=f"site-{i}.fr", up=i % 3 != 0, status=200, latency_ms=i)
        for i in range(60)] + [ProbeResult(contract_id="ctr_1", domain="site-1.fr", up=False, latency_ms=1)])
    deliver(client, message)
    assert [len(stored(f"ctr_{i}")) for i in range(60)] == [1] * 60
    assert stored("ctr_1")[0].up is False  # the later result of a space in one round wins


def test_R44_the_node_prober_gets_each_site_over_real_http_and_reports_one_round(tmp_path):
    """A real HTTP GET per space to the node's own server (Host header): 200 up, a suspended space's
    503 down, the drill file fails a domain as a refused connection would."""
    from chalicelib.contracts.node_messages import ProvisionSpace, SuspendSpace, node_result_adapter
    from nodeagent.http_server import make_server, serve_in_background
    from nodeagent.prober import DRILL_FILE, Prober
    from nodeagent.spaces import SpaceStore
    now = datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc)
    store = SpaceStore(tmp_path / "node")
    for n, domain in enumerate(("up.fr", "held.fr", "drilled.fr")):
        store.apply(ProvisionSpace(node_id=NODE_ID, command_id=f"cmd-{n}", contract_id=f"ctr-{n}", domain=domain,
                                   quota_mb=100, mailboxes=1, mysql_databases=0, php=False, issued_at=now))
    store.apply(SuspendSpace(node_id=NODE_ID, command_id="cmd-s", contract_id="ctr-1", domain="held.fr",
                             issued_at=now, reason="abuse"))
    (tmp_path / "node" / DRILL_FILE).write_text("drill*.fr\n")
    server = make_server(store, "127.0.0.1", 0)
    serve_in_background(server)
    sent: list = []
    try:
        prober = Prober(node_id=NODE_ID, store=store, host="127.0.0.1", port=server.server_address[1],
                        send=sent.append, clock=lambda: now)
        [message] = prober.run_round()
    finally:
        server.shutdown()
    assert sent == [message] and message.probed_at == now and message.round_id
    assert node_result_adapter.validate_json(message.model_dump_json()) == message  # what the back office parses
    found = {r.domain: (r.contract_id, r.up, r.status, r.error) for r in message.results}
    assert found == {"up.fr": ("ctr-0", True, 200, None), "held.fr": ("ctr-1", False, 503, None),
                     "drilled.fr": ("ctr-2", False, None, "drill")}


# ---- the monthly report --------------------------------------------------------------------------

def test_R44_R45_R50_the_month_s_figure_excludes_maintenance_force_majeure_holds_and_unreported_outages(
        client, active, clock, services):
    """December 2026 (31 days) for a contract active since 27 November:
    - 5 Dec 11:00-13:00 down, never reported: excluded (15.3), not counted;
    - 10 Dec 03:00-05:00 down; maintenance 02:00-04:00 announced on 1 Dec: 03-04 maintenance, 04-05 unreported;
    - 15 Dec suspended (abuse) 08:00-20:00, 503 from 09:00 to 21:00: 09-20 suspension, 20-21 unreported;
    - 20 Dec 11:00-12:30 down, reported by the customer at 11:30 (started 11:00): counted, 1 h 30;
    - 25 Dec force majeure 00:00-24:00 on every node: down 10:00-12:00 excluded.
    Excluded: 2 + 24 + 12 + 4 h = 42 h; counted 5 400 s:
    availability = 1 - 5400 / (2 678 400 - 151 200) = 99.786 % < 99.8 %."""
    cid = active["contract_id"]
    move_to(clock, "2026-12-01T09:00")
    assert post(client, "/admin/maintenance-windows", {
        "start": iso("2026-12-10T02:00"), "end": iso("2026-12-10T04:00"), "node_ids": [NODE_ID],
        "description": "Mise à jour du noyau"})[0] == 201
    assert post(client, "/admin/force-majeure", {"start": iso("2026-12-25T00:00"), "end": iso("2026-12-26T00:00"),
                                                 "description": "Inondation", "services": "all"})[0] == 201
    for moment, up in [("2026-12-05T10:00", True), ("2026-12-05T11:00", False), ("2026-12-05T12:00", False),
                       ("2026-12-05T13:00", True), ("2026-12-10T01:00", True), ("2026-12-10T03:00", False),
                       ("2026-12-10T05:00", True)]:
        probe_at(client, clock, cid, moment, up)
    move_to(clock, "2026-12-15T08:00")
    hold(services, cid, "suspended", clock)
    probe_at(client, clock, cid, "2026-12-15T09:00", False)
    move_to(clock, "2026-12-15T20:00")
    hold(services, cid, None, clock)
    probe_at(client, clock, cid, "2026-12-15T21:00", True)
    probe_at(client, clock, cid, "2026-12-20T11:00", False)
    move_to(clock, "2026-12-20T11:30")
    customer = login_headers(client, give_password(services.store.get_contract(cid).customer_id))
    status, ticket = post(client, "/me/tickets", {
        "kind": "incident", "subject": "Site inaccessible", "message": "Le site ne répond plus.",
        "contract_id": cid, "incident": {"started_at": iso("2026-12-20T11:00")}}, customer)
    assert status == 201, ticket
    probe_at(client, clock, cid, "2026-12-20T12:30", True)
    probe_at(client, clock, cid, "2026-12-25T10:00", False)
    probe_at(client, clock, cid, "2026-12-25T12:00", True)
    move_to(clock, "2027-01-02T10:00")

    status, report = get(client, f"/admin/contracts/{cid}/availability?month=2026-12")
    assert status == 200, report
    assert report["period"] == {"start": "2026-11-30T23:00:00.000+00:00", "end": "2026-12-31T23:00:00.000+00:00"}
    assert report["measured_seconds"] == 31 * 86400, (report["measured"], report["excluded_periods"])
    assert report["excluded_seconds"] == 42 * 3600
    assert report["counted_downtime_seconds"] == 5400
    assert (report["availability_percent"], report["target_percent"], report["meets_commitment"]) == (
        "99.786", "99.8", False)
    assert report["observed_availability_percent"] == "99.220"  # every outage counted: 5 h 30
    assert [(p["reason"], p["start"], p["end"]) for p in report["excluded_periods"]] == [
        ("unreported_outage", *utc("2026-12-05T11:00", "2026-12-05T13:00")),
        ("maintenance", *utc("2026-12-10T02:00", "2026-12-10T04:00")),
        ("unreported_outage", *utc("2026-12-10T04:00", "2026-12-10T05:00")),
        ("suspension", *utc("2026-12-15T08:00", "2026-12-15T20:00")),
        ("unreported_outage", *utc("2026-12-15T20:00", "2026-12-15T21:00")),
        ("force_majeure", *utc("2026-12-25T00:00", "2026-12-26T00:00"))]
    by_reason = {p["reason"]: p for p in report["excluded_periods"]}
    assert by_reason["maintenance"]["description"] == "Mise à jour du noyau"
    assert by_reason["suspension"]["description"] == "abuse"
    assert by_reason["force_majeure"]["ref"].startswith("fm_")
    assert [(o["start"], o["end"]) for o in report["counted_outages"]] == [utc("2026-12-20T11:00", "2026-12-20T12:30")]
    assert len(report["unreported_outages"]) == 3
    assert report["probes"] == {"count": 13, "failed": 6}

    # R04/R06: the customer reads the same report for its own contract
    status, mine = get(client, f"/me/contracts/{cid}/availability?month=2026-12", customer_headers(client, services,
                                                                                                    cid))
    assert status == 200 and mine["availability_percent"] == "99.786"


def utc(start: str, end: str) -> tuple[str, str]:
    return tuple(paris(t).astimezone(timezone.utc).isoformat(timespec="milliseconds") for t in (start, end))


def customer_headers(client, services, contract_id: str) -> dict:
    return login_headers(client, give_password(services.store.get_contract(contract_id).customer_id))


def hold(services, contract_id: str, level, clock) -> None:
    """R49/R23: an abuse suspension set or lifted as the abuse area does (set_hold)."""
    effect = Effect()
    set_hold(effect, "contract", services.store.get_contract(contract_id), "abuse", level, services, clock.now())
    services.store.apply(effect)


def test_R44_the_current_month_is_measured_up_to_now_and_a_month_before_the_contract_is_empty(client, active,
                                                                                             clock, services):
    cid = active["contract_id"]
    move_to(clock, "2026-12-11T00:00")
    status, report = get(client, f"/admin/contracts/{cid}/availability")
    assert status == 200 and report["month"] == "2026-12"
    assert report["measured_seconds"] == 10 * 86400 and report["availability_percent"] == "100.000"
    assert "month in progress: measured up to now" in report["notes"]
    # November: active from 27 November 10:00 UTC (the node's confirmation)
    status, november = get(client, f"/admin/contracts/{cid}/availability?month=2026-11")
    assert november["measured"] == [{"start": "2026-11-27T10:00:00.000+00:00", "end": "2026-11-30T23:00:00.000+00:00",
                                     "seconds": 3 * 86400 + 13 * 3600}]
    status, october = get(client, f"/admin/contracts/{cid}/availability?month=2026-10")
    assert (october["availability_percent"], october["meets_commitment"], october["measured"]) == (None, None, [])


@pytest.mark.parametrize("month", ["2026-13", "december", "2026-1", "9999-12", "2026-12-01"])
def test_R44_a_bad_month_answers_400(client, active, month, services):
    cid = active["contract_id"]
    status, body = get(client, f"/admin/contracts/{cid}/availability?month={month}")
    assert (status, body["error"]["code"]) == (400, "invalid_month")
    status, body = get(client, f"/me/contracts/{cid}/availability?month={month}", customer_headers(client, services,
                                                                                                    cid))
    assert (status, body["error"]["code"]) == (400, "invalid_month")


def test_R44_unknown_or_unusable_contract_ids_answer_404(client, active):
    for contract_id in ("ctr_nope", "x" * 2000, "%20"):
        status, body = get(client, f"/admin/contracts/{contract_id}/availability")
        assert (status, body["error"]["code"]) == (404, "contract_not_found")


# ---- maintenance windows (15.2) --------------------------------------------------------------------

def test_R44_maintenance_must_be_announced_beforehand_unless_an_emergency(client, active, clock):
    move_to(clock, "2026-12-10T03:00")
    window = {"start": iso("2026-12-10T02:00"), "end": iso("2026-12-10T04:00"), "node_ids": "all",
              "description": "Remplacement d'un disque"}
    status, body = post(client, "/admin/maintenance-windows", window)
    assert (status, body["error"]["code"]) == (422, "maintenance_not_announced_beforehand")
    status, body = post(client, "/admin/maintenance-windows", {**window, "emergency": True})
    assert status == 201 and body["emergency"] and body["announced_afterwards"]
    assert body["announced_at"] == "2026-12-10T02:00:00.000+00:00" and body["announced_by"] == "operator:root"
    assert post(client, "/admin/maintenance-windows", {**window, "emergency": True}) == (200, body)  # same window
    ahead = {**window, "start": iso("2026-12-12T02:00"), "end": iso("2026-12-12T03:00")}
    status, early = post(client, "/admin/maintenance-windows", ahead)
    assert status == 201 and not early["emergency"] and not early["announced_afterwards"]
    status, listed = get(client, "/admin/maintenance-windows?month=2026-12")
    assert [w["event_id"] for w in listed["maintenance_windows"]] == [body["event_id"], early["event_id"]]
    assert get(client, "/admin/maintenance-windows?month=2027-01")[1] == {"maintenance_windows": []}


@pytest.mark.parametrize("change, status, code", [
    ({"end": "2026-12-12T01:00:00+01:00"}, 400, "invalid_period"),
    ({"start": "2026-12-12T02:00:00"}, 400, "validation_error"),
    ({"node_ids": ["node-nowhere"]}, 422, "unknown_node"),
    ({"node_ids": []}, 400, "validation_error"),
    ({"colour": "red"}, 400, "validation_error"),
])
def test_R44_a_bad_maintenance_window_is_refused_with_what_to_fix(client, active, change, status, code):
    window = {"start": iso("2026-12-12T02:00"), "end": iso("2026-12-12T03:00"), "node_ids": [NODE_ID],
              "description": "Mise à jour"}
    answer, body = post(client, "/admin/maintenance-windows", {**window, **change})
    assert (answer, body["error"]["code"]) == (status, code)


# ---- R50: force majeure ----------------------------------------------------------------------------

def declare(client, start: str, end: str | None = None, services="all") -> dict:
    status, body = post(client, "/admin/force-majeure", {"start": iso(start), "description": "Incendie du centre",
                                                         "services": services, **({"end": iso(end)} if end else {})})
    assert status == 201, body
    return body


def test_R50_the_end_of_force_majeure_is_recorded_once(client, active, clock):
    event = declare(client, "2026-12-01T00:00")
    assert event["ongoing"] and event["end"] is None and not event["termination_possible"]
    assert event["termination_possible_after"] == "2026-12-30T23:00:00.000+00:00"
    path = f"/admin/force-majeure/{event['event_id']}/end"
    assert post(client, path, {"end": iso("2026-11-30T00:00")})[1]["error"]["code"] == "invalid_period"
    status, ended = post(client, path, {"end": iso("2026-12-02T00:00")})
    assert status == 200 and ended["end"] == "2026-12-01T23:00:00.000+00:00" and ended["ended_by"] == "operator:root"
    assert post(client, path, {"end": iso("2026-12-02T00:00")}) == (200, ended)  # the same end again
    status, body = post(client, path, {"end": iso("2026-12-03T00:00")})
    assert (status, body["error"]["code"]) == (409, "force_majeure_already_ended")
    status, body = post(client, "/admin/force-majeure/fm_unknown/end", {"end": iso("2026-12-03T00:00")})
    assert (status, body["error"]["code"]) == (404, "force_majeure_not_found")
    assert [e["event_id"] for e in get(client, "/admin/force-majeure?month=2026-12")[1]["force_majeure"]] == [
        event["event_id"]]


def terminate(client, contract_id: str, event_id: str, headers: dict = OP, me: bool = False):
    prefix = "/me" if me else "/admin"
    return post(client, f"{prefix}/contracts/{contract_id}/force-majeure-termination", {"event_id": event_id},
                headers)


def test_R50_the_provider_terminates_only_after_more_than_30_days_of_force_majeure(client, aws, active, clock,
                                                                                 services):
    cid = active["contract_id"]
    event = declare(client, "2026-12-01T00:00", services=[NODE_ID])
    move_to(clock, "2026-12-31T00:00")  # exactly 30 days: not more
    status, body = terminate(client, cid, event["event_id"])
    assert (status, body["error"]["code"]) == (422, "force_majeure_not_long_enough")
    assert services.store.get_contract(cid).status == "active"
    queue_messages(aws["node_queue"])
    clock.advance(timedelta(seconds=1))
    status, body = terminate(client, cid, event["event_id"])
    assert status == 200, body
    assert (body["status"], body["ended_reason"], body["requested_by"]) == ("terminated", "force_majeure", "provider")
    contract = services.store.get_contract(cid)
    assert (contract.status, contract.ended_reason) == ("terminated", "force_majeure")
    assert [json.loads(m["Body"])["type"] for m in queue_messages(aws["node_queue"])] == ["SuspendSpace"]
    deletion = services.store.get_timer(f"data_deletion#{cid}")   # R20: data kept 30 days, then deleted
    assert datetime.fromisoformat(deletion.due_at) == paris("2027-01-30T00:00:01")
    assert services.store.get_timer(f"deletion_warning#{cid}").state == "pending"
    assert "force_majeure_terminated" in notices(services, cid)
    [entry] = [e for e in services.store.evidence_for(contract.customer_id, contract_id=cid)
               if e["action"] == "contract.terminated"]
    assert (entry["actor"], entry["before"], entry["after"]["reason"], entry["after"]["event_id"]) == (
        "operator:root", {"status": "active"}, "force_majeure", event["event_id"])
    assert not [line for line in services.store.invoices_of_contract(cid) if line.purpose == "termination"]  # no fees
    status, body = terminate(client, cid, event["event_id"])
    assert (status, body["error"]["code"]) == (409, "contract_not_in_force")


def test_R50_the_customer_terminates_after_an_event_that_ended_after_more_than_30_days(client, active, clock,
                                                                                     services):
    cid = active["contract_id"]
    short = declare(client, "2026-11-01T00:00", "2026-12-01T00:00")       # exactly 30 days
    longer = declare(client, "2026-10-01T00:00", "2026-11-15T00:00")      # 45 days
    move_to(clock, "2026-12-05T10:00")
    headers = customer_headers(client, services, cid)
    status, body = terminate(client, cid, short["event_id"], headers, me=True)
    assert (status, body["error"]["code"]) == (422, "force_majeure_not_long_enough")
    status, body = terminate(client, cid, longer["event_id"], headers, me=True)
    assert status == 200 and body["requested_by"] == "customer", body
    assert services.store.get_contract(cid).status == "terminated"


def test_R50_an_event_on_another_node_does_not_open_termination(client, active, clock, services):
    from devstack.resources import register_node
    register_node(services.settings, "node-it-2", capacity_mb=1000, http_address="http://127.0.0.1:2")
    event = declare(client, "2026-10-01T00:00", services=["node-it-2"])
    status, body = terminate(client, active["contract_id"], event["event_id"])
    assert (status, body["error"]["code"]) == (422, "force_majeure_does_not_cover_contract")
    status, body = terminate(client, active["contract_id"], "fm_unknown")
    assert (status, body["error"]["code"]) == (404, "force_majeure_not_found")


def declared_force_majeure(client, world: dict) -> str:
    """The authorization matrix's {event_id} (PARAMS): a force majeure event declared by an operator."""
    answer = client.http.post("/admin/force-majeure", body=json.dumps({
        "start": "2026-12-01T00:00:00+01:00", "description": "Inondation", "services": "all"}),
        headers={"Content-Type": "application/json", **world["headers"]["op"]})
    assert answer.status_code in (200, 201), answer.body
    return json.loads(answer.body)["event_id"]
