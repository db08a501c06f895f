"""Composition root: the one place that builds real adapters (or takes fakes)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Protocol

from .config import Settings, settings
from .domain.catalog import Catalog

CATALOG_PATH = Path(__file__).parent / "data" / "catalog.json"


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass
class Services:
    settings: Settings
    clock: Clock
    catalog: Catalog
    store: Any   # adapters.dynamo_store.DynamoStore or a fake with the same methods
    queues: Any  # adapters.queues.SqsQueues or a fake with the same methods


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    return Catalog.from_document(json.loads(CATALOG_PATH.read_text(encoding="utf-8")))


_override: Optional[Services] = None


def services() -> Services:
    return _override or _real_services()


@lru_cache(maxsize=1)
def _real_services() -> Services:
    from .adapters.clock import SystemClock
    from .adapters.dynamo_store import DynamoStore
    from .adapters.queues import SqsQueues
    s = settings()
    return Services(settings=s, clock=SystemClock(), catalog=load_catalog(),
                    store=DynamoStore(region=s.region), queues=SqsQueues(region=s.region))


def override(replacement: Optional[Services]) -> None:
    """Tests inject their own collaborators (a fixed clock, fakes); None restores the real ones."""
    global _override
    _override = replacement
