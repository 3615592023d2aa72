"""The config is validated up front, and a world is a pure function of its config."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from integrations.demo_world import FAULTS, WorldConfig, generate_world
from tests.integrations.demo_world.conftest import END_MONTH


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customers": 10}, "customers must be between"),
        ({"customers": 2.5}, "customers must be an integer"),
        ({"months": 2}, "months must be between"),
        ({"end_month": "2026-13"}, "end_month must be 'YYYY-MM'"),
        ({"end_month": "10/2026"}, "end_month must be 'YYYY-MM'"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"bad_share": 0.9}, "bad_share must be between"),
        ({"faults": frozenset({"meteor"})}, "unknown fault"),
        ({"faults": "webhook_burst"}, "not the string"),
    ],
)
def test_invalid_config_is_rejected_with_a_clear_message(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorldConfig(**{"end_month": END_MONTH, **kwargs})  # type: ignore[arg-type]


def test_end_month_is_required_so_the_generator_never_reads_the_clock() -> None:
    with pytest.raises(TypeError):
        WorldConfig(customers=500)  # type: ignore[call-arg]


def test_start_month_counts_back_from_end_month() -> None:
    assert WorldConfig(end_month="2026-10", months=24).start_month == "2024-11"
    assert WorldConfig(end_month="2026-01", months=13).start_month == "2025-01"


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_config_gives_byte_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    config = WorldConfig(customers=800, months=12, end_month=END_MONTH, seed=5, bad_share=0.02, faults=FAULTS)
    first, second = tmp_path / "a", tmp_path / "b"
    generate_world(config, out_dir=first)
    generate_world(config, out_dir=second)
    hashes = _hashes(first)
    assert hashes == _hashes(second)
    assert len(hashes) > 10

    other = tmp_path / "c"
    generate_world(WorldConfig(**{**asdict(config), "seed": 6}), out_dir=other)
    other_hashes = _hashes(other)
    for name in (
        "hubspot/contacts.pages.jsonl",
        "hubspot/deals.pages.jsonl",
        "whatsapp/campaign_sends.csv",
        "sheets/marketing_spend.csv",
        "sheets/expenses.csv",
        "sheets/orders.csv",
        "ground_truth.json",
        "ground_truth_customers.parquet",
    ):
        assert other_hashes[name] != hashes[name], name


def test_regenerating_into_the_same_folder_leaves_no_stale_files(tmp_path: Path) -> None:
    generate_world(WorldConfig(customers=300, months=12, end_month="2025-06", seed=1), out_dir=tmp_path)
    generate_world(WorldConfig(customers=300, months=12, end_month=END_MONTH, seed=1), out_dir=tmp_path)
    days = sorted(p.name for p in (tmp_path / "whatsapp" / "webhooks").iterdir())
    assert days and all(name >= "2025-11-01.jsonl" for name in days), days[:3]


def test_manifest_records_the_config_without_timestamps(small_world) -> None:
    manifest = small_world.manifest
    assert manifest["config"] == {**asdict(small_world.config), "faults": sorted(small_world.config.faults)}
    text = json.dumps(manifest)
    assert "seconds" not in text and "generated_at" not in text
    for name, entry in manifest["files"].items():
        assert entry["rows"] == small_world.summary.row_counts[name]
        assert entry["bytes"] > 0


def test_progress_callback_reports_every_step(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    generate_world(
        WorldConfig(customers=300, months=12, end_month=END_MONTH, seed=2),
        out_dir=tmp_path,
        progress=lambda step, done, total: calls.append((step, done, total)),
    )
    steps = {step for step, _, _ in calls}
    assert {"simulating the business", "writing HubSpot deals", "writing WhatsApp webhooks"} <= steps
    assert all(0 <= done <= total for _, done, total in calls)
    assert calls[-1][1] == calls[-1][2]
