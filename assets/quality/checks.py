"""great-expectations suites as Dagster asset checks on the raw tables.

Each raw table gets two checks: ``expectations_error`` (blocking: a failure stops downstream
assets in the same run) and ``expectations_warn`` (reported, never blocking).
"""

from __future__ import annotations

import dagster as dg

from assets.quality.expectations import SUITES, Severity, TableSuite
from assets.quality.gx_runner import run_expectations
from orchestration.resources import WarehouseResource


def _evaluate(suite: TableSuite, severity: Severity, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    frame = warehouse.get().read_frame(suite.schema, suite.table, columns=suite.columns(severity))
    outcomes = run_expectations(frame, suite.expectations(severity), name=f"{suite.schema}_{suite.table}")
    failed = [o for o in outcomes if not o.success]
    table = "\n".join(
        ["| expectation | column | ok | unexpected | sample |", "|---|---|---|---|---|"]
        + [
            f"| {o.expectation} | {o.column or ''} | {'✅' if o.success else '❌'} | "
            f"{'' if o.unexpected_count is None else o.unexpected_count} | {', '.join(o.sample)} |"
            for o in outcomes
        ]
    )
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if severity == "ERROR" else dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_checked": len(frame),
            "expectations": len(outcomes),
            "failed": [f"{o.expectation}({o.column})" for o in failed],
            "results": dg.MetadataValue.md(table),
        },
    )


def build_checks(suite: TableSuite) -> list[dg.AssetChecksDefinition]:
    key = dg.AssetKey(list(suite.asset_key))

    @dg.asset_check(
        asset=key,
        name="expectations_error",
        blocking=True,
        description="great-expectations: keys, ranges, allowed values. Blocks downstream assets on failure.",
    )
    def _error(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return _evaluate(suite, "ERROR", warehouse)

    checks = [_error]
    if suite.warn:

        @dg.asset_check(
            asset=key,
            name="expectations_warn",
            description="great-expectations: freshness and soft expectations. Reported, never blocking.",
        )
        def _warn(warehouse: WarehouseResource) -> dg.AssetCheckResult:
            return _evaluate(suite, "WARN", warehouse)

        checks.append(_warn)
    return checks


quality_checks = [check for suite in SUITES for check in build_checks(suite)]
