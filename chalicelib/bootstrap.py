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
    def now(self) -> datetime: ...   # business time: deadlines, evidence, invoices

    def wall(self) -> datetime: ...  # real time: liveness of components


@dataclass
class Services:
    settings: Settings
    clock: Clock
    catalog: Catalog
    store: Any   # adapters.dynamo_store.DynamoStore or a fake with the same methods
    queues: Any  # adapters.queues.SqsQueues or a fake with the same methods
    mailer: Any = None  # adapters.mailer.SesMailer or a fake; None: SES, made on first use (R54)
    # issue 4: registry name -> RegistrarGateway (adapters.epp.EppRegistrars or a fake with `.gateway`);
    # None: EPP over TLS to the profiles of data/registries.json, made on first use
    registrars: Any = None


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    return Catalog.from_document(json.loads(CATALOG_PATH.read_text(encoding="utf-8")))


_override: Optional[Services] = None


def services() -> Services:
    return _override or _real_services()


@lru_cache(maxsize=1)
def _real_services() -> Services:
    from .adapters.clock import OffsetClock, SystemClock
    from .adapters.dynamo_store import DynamoStore
    from .adapters.queues import SqsQueues
    s = settings()
    store = DynamoStore(region=s.region)
    # Time travel exists only in local mode; a real stage reads the system clock.
    clock = OffsetClock(store) if s.local_mode else SystemClock()
    return Services(settings=s, clock=clock, catalog=load_catalog(), store=store, queues=SqsQueues(region=s.region))


def override(replacement: Optional[Services]) -> None:
    """Tests inject their own collaborators (a fixed clock, fakes); None restores the real ones."""
    global _override
    _override = replacement
