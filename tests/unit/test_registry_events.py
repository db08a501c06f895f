"""Issue 4: the registry-events wire model (R37-R39) and the small pure helpers of the domain flows."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from chalicelib.contracts.registry_events import RegistryEventV1
from chalicelib.domain.registrar import PollMessage, TransferStatus

AT = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


def test_R37_a_create_answer_keeps_its_result_and_lowercases_the_domain():
    message = PollMessage(message_id="12", queued_at=AT, text="Registration refused: reserved", kind="create",
                          domain="Refuse-Moi.DE", result=False)
    event = RegistryEventV1.from_poll("subcontractor", "soho-sub", message)
    assert (event.kind, event.domain, event.result, event.client_id) == ("create", "refuse-moi.de", False, "soho-sub")
    assert RegistryEventV1.model_validate_json(event.model_dump_json()) == event


def test_R38_R39_a_transfer_answer_carries_both_registrars_and_its_deadline():
    transfer = TransferStatus(name="x.com", status="pending", requesting_registrar="other-registrar",
                              losing_registrar="soho-netsol", requested_at=AT, action_deadline=AT)
    event = RegistryEventV1.from_poll("network_solutions", "soho-netsol", PollMessage(
        message_id="7", queued_at=AT, text="Transfer requested", kind="transfer", domain="x.com", transfer=transfer))
    assert (event.transfer.requesting_registrar, event.transfer.losing_registrar) == ("other-registrar",
                                                                                       "soho-netsol")


def test_R37_an_unknown_message_kind_is_kept_as_other_and_extra_fields_are_refused():
    event = RegistryEventV1.from_poll("afnic", "soho-afnic", PollMessage(message_id="1", queued_at=AT,
                                                                         text="Maintenance", kind="maintenance"))
    assert event.kind == "other" and event.domain is None
    with pytest.raises(ValidationError):
        RegistryEventV1.model_validate({**event.model_dump(mode="json"), "status": "active"})


def test_R37_contact_ids_are_stable_per_customer_and_fit_epp_limits():
    from chalicelib.service.domains import _contact_id
    first, again, other = _contact_id("cus_1"), _contact_id("cus_1"), _contact_id("cus_2")
    assert first == again != other and 3 <= len(first) <= 16 and first.isalnum()


@pytest.mark.parametrize("given, epp", [("+33 1 23 45 67 89", "+33.123456789"), ("0601020304", "+33.601020304"),
                                        ("+44 20 7946 0000", "+44.2079460000")])
def test_R37_phones_are_sent_in_epp_form(given, epp):
    from chalicelib.service.domains import _epp_phone
    assert _epp_phone(given) == epp


def test_R38_R41_the_domain_view_never_shows_the_transfer_code_and_names_who_renews():
    from chalicelib.adapters.models import DomainModel
    from chalicelib.service.domains import domain_view
    row = DomainModel(domain_name="x.com", contract_id="ctr_1", customer_id="cus_1", registry="network_solutions",
                      action="transfer", created_at="2026-11-27T10:00:00Z", status="transfer_pending",
                      auth_code="Secret-1", operation_id="dop_1",
                      pending_operation={"op_id": "dop_1", "kind": "transfer_in", "state": "awaiting_registry",
                                         "attempts": 0, "requested_at": "2026-11-27T10:00:00Z"})
    view = domain_view(row)
    assert "Secret-1" not in str(view) and view["renewed_by"] == "provider"
    assert view["pending_operation"] == {"kind": "transfer_in", "state": "awaiting_registry", "attempts": 0,
                                         "requested_at": "2026-11-27T10:00:00Z"}
