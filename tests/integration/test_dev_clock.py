"""Time travel (local mode): GET/POST /dev/clock, forward only, sweeping timers at once."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from chalicelib.config import settings

AUTH = {"Authorization": f"Bearer {settings().operator_api_key}", "Content-Type": "application/json"}


def clock_call(client, body=None, headers=AUTH):
    if body is None:
        answer = client.http.get("/dev/clock", headers=headers)
    else:
        answer = client.http.post("/dev/clock", body=json.dumps(body), headers=headers)
    return answer.status_code, json.loads(answer.body)


def test_clock_reads_and_advances_by_an_iso_duration(client, clock):
    status, body = clock_call(client)
    assert status == 200 and datetime.fromisoformat(body["now"]) == clock.now()
    before = clock.now()
    status, body = clock_call(client, {"advance": "P30DT2H"})
    assert status == 200 and body["timers_sent"] == 0
    assert datetime.fromisoformat(body["now"]) == before + timedelta(days=30, hours=2)


def test_clock_set_to_an_instant_and_never_backwards(client, clock):
    status, body = clock_call(client, {"set": "2027-01-01T00:00:00+01:00"})
    assert status == 200
    assert datetime.fromisoformat(body["now"]) == datetime.fromisoformat("2026-12-31T23:00:00+00:00")
    status, body = clock_call(client, {"set": "2026-12-01T00:00:00+01:00"})
    assert (status, body["error"]["code"]) == (400, "clock_backwards")


@pytest.mark.parametrize("body, code", [
    ({"advance": "thirty days"}, "invalid_duration"),
    ({"set": "2027-01-01T00:00:00"}, "invalid_instant"),
    ({"advance": "P1D", "set": "2027-01-01T00:00:00+01:00"}, "invalid_clock_move"),
    ([], "invalid_clock_move"),
])
def test_bad_clock_moves_are_refused_with_a_code(client, clock, body, code):
    before = clock.now()
    status, answer = clock_call(client, body)
    assert (status, answer["error"]["code"]) == (400, code)
    assert clock.now() == before


def test_clock_needs_the_operator_key(client):
    assert clock_call(client, headers={})[0] == 401
    assert clock_call(client, {"advance": "P1D"}, headers={"Content-Type": "application/json"})[0] == 401


def test_clock_is_not_there_outside_local_mode(client, services):
    from dataclasses import replace
    services.settings = replace(services.settings, local_mode=False)
    status, body = clock_call(client, {"advance": "P1D"})
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_offset_clock_is_shared_through_the_store_and_moves_forward_only(aws):
    from chalicelib.adapters.clock import OffsetClock
    from chalicelib.adapters.dynamo_store import DynamoStore
    store = DynamoStore(region=settings().region)
    first, second = OffsetClock(store, ttl=0), OffsetClock(store, ttl=0)
    target = first.now() + timedelta(days=400)
    first.move_to(target)
    assert abs((second.now() - target).total_seconds()) < 5  # another process sees the same time
    with pytest.raises(ValueError):
        second.move_to(target - timedelta(days=1))
