"""The series the platform forecasts, read from the marts: one query per forecast asset.

Each query returns ``series, ds, y`` rows, complete periods only (a month still in progress would
read as a collapse). Plain SQL that reads the same on DuckDB and PostgreSQL; no Dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

    from orchestration.warehouse import Warehouse

Frequency = Literal["MS", "D"]


@dataclass(frozen=True)
class ForecastSpec:
    """One forecast asset: which series, at which frequency, from which marts."""

    name: str  # the asset key is forecasts/<name>, the table forecasts.<name>
    title: str
    freq: Frequency
    sql: str
    marts: tuple[str, ...]  # the dbt models (marts schema) the query reads: the asset's upstream
    description: str
    headline: str  # the series whose plot the asset shows first
    zero_fill: bool = False  # a missing period means nothing happened (no orders, no new customers)


REVENUE = ForecastSpec(
    name="revenue",
    title="Monthly revenue",
    freq="MS",
    marts=("fct_dre_monthly", "fct_mrr_monthly"),
    sql="""
        select line_key as series, month as ds, amount_brl as y
        from marts.fct_dre_monthly
        where is_complete and line_key in ('receita_bruta', 'receita_liquida')
        union all
        select 'mrr', month, mrr_brl from marts.fct_mrr_monthly where is_complete
    """,
    headline="receita_bruta",
    description="Monthly receita bruta and receita líquida (DRE) and MRR, six months ahead by default. "
    "The receita_bruta forecast feeds the projected DRE (fct_dre_projected).",
)

CUSTOMERS = ForecastSpec(
    name="customers",
    title="Subscriptions and customers",
    freq="MS",
    marts=("fct_mrr_monthly", "fct_cac"),
    sql="""
        select 'active_subscriptions' as series, month as ds, active_customers as y
        from marts.fct_mrr_monthly where is_complete
        union all
        select 'churned_customers', month, churned_customers from marts.fct_mrr_monthly where is_complete
        union all
        select 'new_customers', month, max(total_new_customers) from marts.fct_cac where is_complete group by month
        union all
        select 'new_customers:' || channel, month, new_customers from marts.fct_cac where is_complete
    """,
    headline="active_subscriptions",
    description="Monthly active subscriptions, churned customers and new customers, in total and per "
    "acquisition channel (series new_customers:<channel>). A month missing from a series counts as zero.",
    zero_fill=True,
)

DAILY_REVENUE = ForecastSpec(
    name="daily_revenue",
    title="Daily revenue",
    freq="D",
    marts=("fct_orders",),
    sql="""
        select 'receita_bruta' as series, order_date as ds, sum(list_amount_brl + shipping_brl) as y
        from marts.fct_orders
        where order_date < (select max(order_date) from marts.fct_orders)
        group by order_date
    """,
    headline="receita_bruta",
    description="Daily receita bruta (orders' list amount plus freight by São Paulo order date), with "
    "Brazilian national holidays and Black Friday as Prophet holidays. Days without orders count as zero; "
    "the newest day is left out (it is usually still in progress when the data is loaded).",
    zero_fill=True,
)

FORECASTS = (REVENUE, CUSTOMERS, DAILY_REVENUE)


def read_series(warehouse: Warehouse, spec: ForecastSpec) -> dict[str, pd.DataFrame]:
    """``{series: DataFrame(ds, y)}``, sorted by date; daily zero-fill series reindexed to every day."""
    import pandas as pd

    rows = warehouse.query(spec.sql)
    frame = pd.DataFrame(rows, columns=["series", "ds", "y"])
    frame["ds"] = pd.to_datetime(frame["ds"])
    # rounded to 6 decimals: DuckDB and PostgreSQL sum the same cents into floats that differ in the
    # last bits, and Prophet's fit on a couple of dozen points can amplify that into visible changes
    frame["y"] = frame["y"].astype(float).round(6)
    series: dict[str, pd.DataFrame] = {}
    for name, group in frame.groupby("series", sort=True):
        history = group[["ds", "y"]].sort_values("ds").reset_index(drop=True)
        if spec.zero_fill and len(history):
            days = pd.date_range(history["ds"].iloc[0], history["ds"].iloc[-1], freq=spec.freq)
            history = history.set_index("ds").reindex(days, fill_value=0.0).rename_axis("ds").reset_index()
        series[str(name)] = history
    return series
