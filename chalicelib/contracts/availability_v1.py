"""Availability and force majeure wire models v1 (R44, R50): the bodies of the operator routes
that announce maintenance windows and declare force majeure, and of the R50 termination."""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import AfterValidator, AwareDatetime, Field, StrictBool, StringConstraints

from .storefront_v1 import _Strict

NODE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
EVENT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def _printable(value: str) -> str:
    """Free text stored and shown as is: valid Unicode (no lone surrogate), no control characters."""
    if any(0xD800 <= ord(c) <= 0xDFFF or (ord(c) < 32 and c not in "\n\t") or ord(c) == 127 for c in value):
        raise ValueError("text must be printable Unicode")
    return value


Text = Annotated[str, AfterValidator(_printable)]
NodeIds = Annotated[list[Annotated[str, StringConstraints(pattern=NODE_ID_PATTERN)]],
                    Field(min_length=1, max_length=50)]


def _nodes(description: str):
    return Field(description=description, examples=["all", ["node-par-1"]])


class MaintenanceWindowV1(_Strict):
    """R44 (15.2): a maintenance window, announced beforehand; announced once it has started only
    with `emergency: true` (recorded as announced afterwards)."""
    start: AwareDatetime = Field(description="ISO 8601 instant with its offset")
    end: AwareDatetime = Field(description="ISO 8601 instant with its offset, after start")
    node_ids: Union[Literal["all"], NodeIds] = _nodes("the nodes under maintenance, or \"all\"")
    description: Text = Field(min_length=3, max_length=500, description="what is done (shown to customers)")
    emergency: StrictBool = Field(default=False, description="announced after its start because of an emergency")


class ForceMajeureV1(_Strict):
    """R50 (18): a force majeure event over a period (open while `end` is absent) and the services
    (nodes) it affects."""
    start: AwareDatetime = Field(description="ISO 8601 instant with its offset")
    end: Optional[AwareDatetime] = Field(default=None, description="absent while the event lasts")
    description: Text = Field(min_length=3, max_length=500, description="what happened (named in the notices)")
    services: Union[Literal["all"], NodeIds] = _nodes("the affected nodes, or \"all\"")


class ForceMajeureEndV1(_Strict):
    """R50: when the event ended."""
    end: AwareDatetime = Field(description="ISO 8601 instant with its offset, after the start")


class ForceMajeureTerminationV1(_Strict):
    """R50 (18.3): terminate a contract once the force majeure event named has lasted more than 30 days."""
    event_id: str = Field(pattern=EVENT_ID_PATTERN, description="the force majeure event (GET /admin/force-majeure)")
