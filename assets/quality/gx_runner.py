"""Run a list of great-expectations expectations on a DataFrame and summarise the outcome."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from assets.quality.expectations import Expect


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    sample: list[Any]


def run_expectations(frame: pd.DataFrame, expectations: Sequence[Expect], name: str) -> list[ExpectationOutcome]:
    """Validate ``frame`` against ``expectations`` in an ephemeral GX context (nothing written to disk)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no telemetry calls from an offline machine
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch_definition = (
        context.data_sources.add_pandas(f"{name}_source")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("whole_table")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_suite"))
    for expectation in expectations:
        suite.add_expectation(expectation.build(gx.expectations))
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        details = item.result or {}
        outcomes.append(
            ExpectationOutcome(
                expectation=config.type,
                column=config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", [])) or None,
                success=bool(item.success),
                unexpected_count=details.get("unexpected_count"),
                sample=[str(v) for v in (details.get("partial_unexpected_list") or [])[:5]],
            )
        )
    return outcomes
