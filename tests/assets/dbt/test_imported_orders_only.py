"""A company with nothing but an orders export: `cro import orders`, then `dbt build`.

Whatever the file's date range and however many orders a customer places in a day, the cohort,
cumulative-revenue and churn marts must equal what an analyst computes from the CSV by hand
(here: pandas, straight from the file).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from assets.dbt.models import dbt_models
from orchestration.cli import app
from orchestration.resources import WarehouseResource, dbt_cli_resource
from orchestration.warehouse import Warehouse


def random_export(path: Path, seed: int) -> pd.DataFrame:
    """~150 customers over 2019–2021 with gaps, comebacks and several (even identical) orders a day."""
    rng = np.random.default_rng(seed)
    rows = []
    months = pd.period_range("2019-03", "2021-08", freq="M")
    for customer in range(150):
        start = int(rng.integers(0, len(months) - 1))
        for index in range(start, len(months)):
            if rng.random() < 0.25:  # a quiet month: churn, maybe a comeback later
                continue
            month = months[index]
            for _ in range(int(rng.integers(1, 4))):
                day = month.start_time + pd.Timedelta(days=int(rng.integers(0, month.days_in_month)))
                amount = round(float(rng.uniform(10, 300)), 2)
                rows += [(f"cust{customer:03d}", day.date().isoformat(), f"{amount:.2f}")] * int(rng.integers(1, 3))
            if rng.random() < 0.08:
                break
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame.to_csv(path, index=False)
    return frame


def expected_marts(orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    orders = orders.assign(
        month=pd.to_datetime(orders["order_date"]).dt.to_period("M"), amount=orders["amount"].astype(float)
    )
    revenue = orders.groupby(["customer_id", "month"])["amount"].sum()
    cohort = revenue.reset_index().groupby("customer_id")["month"].min().rename("cohort")
    months = pd.period_range(orders["month"].min(), orders["month"].max(), freq="M")

    table = revenue.reset_index().join(cohort, on="customer_id")
    table["k"] = (table["month"] - table["cohort"]).apply(lambda offset: offset.n)
    sizes = cohort.value_counts()
    cohort_rows = []
    for c, size in sizes.items():
        cumulative = 0.0
        for k in range((months[-1] - c).n + 1):
            in_month = table[(table["cohort"] == c) & (table["k"] == k)]
            cumulative += in_month["amount"].sum()
            cohort_rows.append(
                {
                    "cohort": str(c),
                    "k": k,
                    "size": size,
                    "active": len(in_month),
                    "retention": len(in_month) / size,
                    "cumulative": cumulative / size,
                }
            )

    active = {m: set(table.loc[table["month"] == m, "customer_id"]) for m in months}
    churn_rows = []
    for previous, current in itertools.pairwise(months):
        churned = len(active[previous] - active[current])
        churn_rows.append(
            {
                "month": str(current),
                "start": len(active[previous]),
                "churned": churned,
                "rate": churned / len(active[previous]) if active[previous] else None,
            }
        )
    return pd.DataFrame(cohort_rows), pd.DataFrame(churn_rows)


@pytest.mark.parametrize("warehouse_kind", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_cohort_and_churn_marts_equal_a_hand_computation(
    tmp_path: Path, warehouse_kind: str, request: pytest.FixtureRequest
) -> None:
    url = (
        f"duckdb:///{tmp_path / 'data' / 'warehouse.duckdb'}"
        if warehouse_kind == "duckdb"
        else request.getfixturevalue("postgres_dsn")
    )
    export = random_export(tmp_path / "orders.csv", seed=3)
    result = CliRunner().invoke(
        app,
        ["import", "orders", str(tmp_path / "orders.csv")],
        env={"CRO_DATA_DIR": str(tmp_path / "data"), "CRO_WAREHOUSE_URL": url, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output

    built = dg.materialize(
        [dbt_models],
        resources={"warehouse": WarehouseResource(url=url), "dbt": dbt_cli_resource()},
        raise_on_error=False,
    )
    assert built.success
    assert all(check.passed for check in built.get_asset_check_evaluations())

    cohorts, churn = expected_marts(export)
    warehouse = Warehouse(url)
    ours = warehouse.read_frame("marts", "fct_cohort_retention")
    ours["cohort"] = pd.to_datetime(ours["cohort_month"]).dt.strftime("%Y-%m")
    merged = cohorts.merge(ours, left_on=["cohort", "k"], right_on=["cohort", "months_since_cohort"], how="outer")
    assert len(merged) == len(cohorts) == len(ours)
    assert (merged["size"] == merged["cohort_size"]).all()
    assert (merged["active"] == merged["active_customers"]).all()
    assert np.allclose(merged["retention"], merged["logo_retention"].astype(float), atol=1e-9)
    assert np.allclose(merged["cumulative"], merged["cumulative_revenue_per_customer_brl"].astype(float), atol=1e-6)

    ours_churn = warehouse.read_frame("marts", "fct_churn_monthly")
    ours_churn["month"] = pd.to_datetime(ours_churn["month"]).dt.strftime("%Y-%m")
    merged_churn = churn.merge(ours_churn, on="month", how="left")
    assert (merged_churn["start"] == merged_churn["active_customers_start"]).all()
    assert (merged_churn["churned"] == merged_churn["churned_customers"]).all()
    assert np.allclose(
        merged_churn["rate"].astype(float), merged_churn["logo_churn_rate"].astype(float), atol=1e-12, equal_nan=True
    )
