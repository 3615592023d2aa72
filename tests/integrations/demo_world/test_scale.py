"""A scale smoke test: the generator is vectorized, so 50k customers take seconds, not minutes.

The full 10k / 100k / 1M measurement lives in ``benchmarks/bench_generate.py``.
"""

from __future__ import annotations

from pathlib import Path

from integrations.demo_world import WorldConfig, generate_world
from tests.integrations.demo_world.conftest import END_MONTH


def test_fifty_thousand_customers_generate_in_seconds(tmp_path: Path) -> None:
    summary = generate_world(WorldConfig(customers=50_000, months=24, end_month=END_MONTH, seed=9), out_dir=tmp_path)
    deals = summary.row_counts["hubspot/deals.pages.jsonl"]
    assert 250_000 < deals < 450_000  # ~6.5 paid orders per customer plus the leads' deals
    assert summary.row_counts["hubspot/contacts.pages.jsonl"] == 65_000
    # ~4 s on two idle cores; generous so a busy CI machine does not flake
    assert summary.seconds < 30, summary.seconds
