"""Worlds generated once per session; tests read the files like a loader would.

* ``clean_world``: 20,000 customers, no bad rows, no faults. Large enough for the statistical
  checks (churn per channel, campaign uplift) and the exact file-vs-ground-truth reconciliations.
* ``bad_world``: 5,000 customers, 3% bad rows and every harsh fault.
* ``small_world``: 1,500 customers over 12 months with 2% bad rows and every fault; every page and
  body of it is validated against the vendor schemas (jsonschema is too slow for the big ones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from integrations.demo_world import FAULTS, WorldConfig, WorldSummary, generate_world
from tests.integrations.demo_world import readers

END_MONTH = "2026-10"


@dataclass
class World:
    config: WorldConfig
    out: Path
    summary: WorldSummary
    _cache: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def truth(self) -> dict[str, Any]:
        return json.loads((self.out / "ground_truth.json").read_text(encoding="utf-8"))

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.out / "manifest.json").read_text(encoding="utf-8"))

    @cached_property
    def contact_lines(self) -> list[readers.PageLine]:
        return readers.read_page_lines(self.out / "hubspot" / "contacts.pages.jsonl")

    @cached_property
    def deal_lines(self) -> list[readers.PageLine]:
        return readers.read_page_lines(self.out / "hubspot" / "deals.pages.jsonl")

    @cached_property
    def contacts(self) -> dict[str, dict[str, Any]]:
        return {record["id"]: record for _, record in readers.objects(self.contact_lines)}

    @cached_property
    def deals(self) -> list[dict[str, Any]]:
        """Deal objects in file order, first occurrence only (a re-delivered deal is a duplicate)."""
        seen: set[str] = set()
        unique = []
        for _, record in readers.objects(self.deal_lines):
            if record["id"] not in seen:
                seen.add(record["id"])
                unique.append(record)
        return unique

    @cached_property
    def webhooks(self) -> list[tuple[str, int, dict[str, Any]]]:
        return list(readers.webhook_bodies(self.out / "whatsapp" / "webhooks"))

    def csv(self, name: str) -> tuple[list[str], list[dict[str, str]]]:
        if name not in self._cache:
            self._cache[name] = readers.read_csv(self.out / name)
        return self._cache[name]


def _generate(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs: Any) -> World:
    config = WorldConfig(end_month=END_MONTH, **kwargs)
    out = tmp_path_factory.mktemp(name)
    return World(config, out, generate_world(config, out_dir=out))


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return _generate(tmp_path_factory, "clean", customers=20_000, months=24, seed=7, bad_share=0.0)


@pytest.fixture(scope="session")
def bad_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return _generate(tmp_path_factory, "bad", customers=5_000, months=24, seed=11, bad_share=0.03, faults=FAULTS)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return _generate(tmp_path_factory, "small", customers=1_500, months=12, seed=3, bad_share=0.02, faults=FAULTS)
