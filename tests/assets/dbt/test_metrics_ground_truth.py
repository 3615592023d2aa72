"""The marts recover what the demo generator knows it simulated, on DuckDB and on PostgreSQL.

The world is clean (no bad rows), so every aggregate of ``ground_truth.json`` is exactly
recoverable; churn is compared with the generator's hazard within a stated statistical tolerance.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from tests.assets.dbt.conftest import BuiltWarehouse

PAID_CHANNELS = ("google_ads", "meta_ads", "instagram")


def month_key(value: object) -> str:
    return str(value)[:7]


def test_dbt_build_succeeds_with_every_check(built: BuiltWarehouse) -> None:
    assert built.result.success
    checks = built.result.get_asset_check_evaluations()
    assert len(checks) > 50
    failed = [str(c.asset_check_key) for c in checks if not c.passed]
    assert failed == []


def test_cac_by_channel_is_spend_over_new_customers_exactly(built: BuiltWarehouse) -> None:
    truth = {(a["month"], a["channel"]): a for a in built.truth["acquisition"]}
    rows = built.rows("select month, channel, spend_brl, new_customers, paid_cac_brl from marts.fct_cac")
    ours = {(month_key(r["month"]), r["channel"]): r for r in rows}
    for key, expected in truth.items():
        got = ours[key]
        assert float(got["spend_brl"]) == pytest.approx(expected["spend_brl"], abs=0.005), key
        assert got["new_customers"] == expected["new_customers"], key
        if key[1] in PAID_CHANNELS and expected["new_customers"]:
            assert got["paid_cac_brl"] == pytest.approx(expected["spend_brl"] / expected["new_customers"], rel=1e-9)


def test_mrr_and_active_customers_match_every_month(built: BuiltWarehouse) -> None:
    rows = built.rows("select month, mrr_brl, active_customers from marts.fct_mrr_monthly")
    ours = {month_key(r["month"]): r for r in rows}
    for expected in built.truth["mrr_monthly"]:
        got = ours[expected["month"]]
        assert got["mrr_brl"] == pytest.approx(expected["mrr"], abs=0.01), expected["month"]
        assert got["active_customers"] == expected["active_customers"], expected["month"]


def test_revenue_and_expense_lines_of_the_dre_match_the_generated_totals(built: BuiltWarehouse) -> None:
    rows = built.rows("select month, line_key, amount_brl from marts.fct_dre_monthly")
    dre = {(month_key(r["month"]), r["line_key"]): float(r["amount_brl"]) for r in rows}
    das = built.truth["params"]["tax"]["das_rate"]
    for revenue in built.truth["revenue_monthly"]:
        month = revenue["month"]
        gross = revenue["subscription_brl"] + revenue["one_off_brl"] + revenue["freight_brl"]
        assert dre[(month, "receita_bruta")] == pytest.approx(gross, abs=0.01), month
        returns_and_discounts = revenue["discounts_brl"] + revenue["refunds_brl"]
        # the DAS is due on receita bruta net of cancellations and unconditional discounts
        deductions = returns_and_discounts + das * (gross - returns_and_discounts)
        assert dre[(month, "deducoes")] == pytest.approx(-deductions, abs=0.02), month
    for expense in built.truth["expenses_monthly"]:
        sign = 1 if expense["category"] == "resultado_financeiro" else -1
        key = (expense["month"], expense["category"])
        assert dre[key] == pytest.approx(sign * expense["amount_brl"], abs=0.01), key


def test_churn_by_channel_recovers_the_generators_hazard(built: BuiltWarehouse) -> None:
    """Monthly subscribers: (churn events − pauses) ÷ exposure months ≈ the true hazard.

    The tolerance is 3.5 binomial standard errors of the exposure (a false alarm about once in
    2,000 channels); pauses end a paid spell too, so the generator lists them separately.
    """
    movements = built.rows(
        """select customers.acquisition_channel as channel,
                  sum(case when movements.movement = 'churn' then 1 else 0 end) as churned,
                  sum(case when movements.previous_mrr_brl > 0 then 1 else 0 end) as exposure
           from marts.fct_mrr_movements as movements
           join intermediate.int_customers as customers on movements.customer_id = customers.customer_id
           where customers.billing_cycle = 'monthly'
           group by customers.acquisition_channel"""
    )
    customers = pd.read_parquet(built.world / "ground_truth_customers.parquet")
    monthly = customers[customers["billing_cycle"] == "monthly"]
    pauses = monthly[monthly["pause_month"].notna()].groupby("channel").size().to_dict()
    by_channel = {r["channel"]: r for r in movements}
    for truth in built.truth["churn_by_channel"]:
        ours = by_channel[truth["channel"]]
        hazard = (ours["churned"] - pauses.get(truth["channel"], 0)) / ours["exposure"]
        tolerance = 3.5 * math.sqrt(truth["true_hazard"] * (1 - truth["true_hazard"]) / ours["exposure"])
        assert abs(hazard - truth["true_hazard"]) <= tolerance, (truth, hazard, tolerance)


def test_campaign_results_match_per_campaign_and_variant(built: BuiltWarehouse) -> None:
    fields = ("sent", "delivered", "read", "failed", "replied", "opted_out", "converted")
    rows = built.rows(f"select campaign_id, variant, {', '.join(fields)} from marts.fct_campaign_results")
    ours = {(r["campaign_id"], r["variant"]): r for r in rows}
    assert len(ours) == len(built.truth["campaigns"])
    for expected in built.truth["campaigns"]:
        got = ours[(expected["campaign_id"], expected["variant"])]
        assert {f: got[f] for f in fields} == {f: expected[f] for f in fields}, expected["campaign_id"]


def test_funnel_counts_deals_by_stage(built: BuiltWarehouse) -> None:
    rows = built.rows("select deal_stage, deals_in_stage from marts.fct_sales_funnel where funnel = 'all_deals'")
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["deal_stage"]] += r["deals_in_stage"]
    assert dict(counts) == built.truth["funnel"]["deals_by_stage"]


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as plain Python scalars: numbers as floats, dates/texts/flags as strings, sorted."""
    out = pd.DataFrame(index=frame.index)
    for name in sorted(set(frame.columns) - {"loaded_at"}):  # build timestamps differ by nature
        column = frame[name]
        values = column.dropna()
        is_flag = values.map(lambda v: isinstance(v, (bool, np.bool_))).all()
        numeric = pd.to_numeric(column, errors="coerce")
        is_time = pd.api.types.is_datetime64_any_dtype(column)
        is_number = not is_flag and not is_time and numeric.notna().sum() == len(values)
        out[name] = (
            numeric.astype(float) if is_number else column.map(lambda v: "<null>" if pd.isna(v) else str(v)[:19])
        )
    # sort on every column, numbers rounded, so float noise cannot reorder rows
    order = out.apply(lambda c: c.round(4).fillna(-1e18) if c.dtype != object else c).sort_values(list(out.columns))
    return out.loc[order.index].reset_index(drop=True)


@pytest.mark.postgres
def test_every_mart_is_equal_on_duckdb_and_postgresql(
    duckdb_built: BuiltWarehouse, postgres_built: BuiltWarehouse
) -> None:
    marts = [
        name
        for (name,) in duckdb_built.warehouse.query(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        )
    ]
    assert len(marts) >= 12
    for mart in marts:
        duck = comparable(duckdb_built.warehouse.read_frame("marts", mart))
        pg = comparable(postgres_built.warehouse.read_frame("marts", mart))
        assert list(duck.columns) == list(pg.columns), mart
        assert len(duck) == len(pg) > 0, mart
        for column in duck.columns:
            if duck[column].dtype == object:
                mismatched = duck[column] != pg[column]
                assert not mismatched.any(), (mart, column, duck[mismatched][column].head(3).tolist())
            else:
                assert np.allclose(duck[column], pg[column], rtol=1e-9, atol=1e-6, equal_nan=True), (mart, column)
