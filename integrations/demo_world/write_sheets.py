"""Google Sheets worksheets as CSV: a header row plus rows of strings, as ``values.get`` returns them.

Clean values use ISO dates and dot decimals (a sheet formatted as plain text); the bad rows look
like what people really paste into a shared sheet: "R$ 1.234,56", "#VALOR!", an empty date, a
channel typed by hand, a row pasted twice.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from integrations.demo_world import config
from integrations.demo_world.duck import labels
from integrations.demo_world.faults import BadPlan
from integrations.demo_world.simulate import SPEND_CAMPAIGNS, World

UNKNOWN_CHANNELS = ("Google Ads", "facebook", "tiktok_ads", "Meta Ads ", "insta")
RENAMED_SPEND_COLUMN = "valor_gasto"


def _code(plan: BadPlan, reason: str) -> int:
    return plan.reasons.index(reason) + 1 if reason in plan.reasons else -1


def _amount_sql(plan: BadPlan, column: str = "amount") -> str:
    """Amount text: clean "1234.56", or the planned text/negative corruption."""
    return f"""CASE bad WHEN {_code(plan, "text_amount")} THEN
            CASE row_number % 5 WHEN 0 THEN '#VALOR!' WHEN 1 THEN 'abc' ELSE brl_text({column}) END
        WHEN {_code(plan, "negative_amount")} THEN '-' || money({column})
        ELSE money({column}) END"""


def _copy(con: duckdb.DuckDBPyConnection, table: pa.Table, select: str, path: Path) -> None:
    con.register("sheet", table)
    path.parent.mkdir(parents=True, exist_ok=True)
    target = str(path).replace("'", "''")
    con.execute(f"COPY ({select}) TO '{target}' (FORMAT csv, HEADER true)")
    con.unregister("sheet")


def _day_labels(days: np.ndarray) -> pa.DictionaryArray:
    unique, codes = np.unique(days, return_inverse=True)
    return labels(codes, [str(d) for d in unique.astype("datetime64[D]")])


def write_spend(con: duckdb.DuckDBPyConnection, world: World, plan: BadPlan, path: Path, renamed: bool = False) -> int:
    """``marketing_spend``: date, channel, campaign, spend_brl per paid campaign and day."""
    s = world.spend.take(plan.order)
    table = pa.table(
        {
            "row_number": np.arange(1, len(s) + 1),
            "date": _day_labels(s["day"]),
            "channel": labels(s["channel"], [c.key for c in config.CHANNELS]),
            "campaign": labels(s["campaign"], SPEND_CAMPAIGNS),
            "amount": s["spend_c"],
            "bad": plan.kind_at_positions(),
        }
    )
    spend_column = RENAMED_SPEND_COLUMN if renamed else "spend_brl"
    unknown = ", ".join(f"'{name}'" for name in UNKNOWN_CHANNELS)
    select = f"""SELECT CASE WHEN bad = {_code(plan, "missing_date")} THEN NULL ELSE date::VARCHAR END AS date,
            CASE WHEN bad = {_code(plan, "unknown_channel")} THEN list_extract([{unknown}], row_number % 5 + 1)
                 ELSE channel::VARCHAR END AS channel,
            campaign::VARCHAR AS campaign, {_amount_sql(plan)} AS {spend_column}
        FROM sheet"""
    _copy(con, table, select, path)
    return len(s)


def write_expenses(con: duckdb.DuckDBPyConnection, world: World, plan: BadPlan, path: Path) -> int:
    """``expenses``: month, account, category (DRE line), amount_brl (signed for resultado_financeiro)."""
    e = world.expenses.take(plan.order)
    table = pa.table(
        {
            "row_number": np.arange(1, len(e) + 1),
            "month": labels(e["month"], world.tl.labels),
            "account": _text_labels(e["account"]),
            "category": _text_labels(e["category"]),
            "amount": e["amount_c"],
            "bad": plan.kind_at_positions(),
        }
    )
    select = f"""SELECT CASE WHEN bad = {_code(plan, "missing_month")} THEN NULL ELSE month::VARCHAR END AS month,
            account::VARCHAR AS account, category::VARCHAR AS category, {_amount_sql(plan)} AS amount_brl
        FROM sheet"""
    _copy(con, table, select, path)
    return len(e)


def _text_labels(values: np.ndarray) -> pa.DictionaryArray:
    vocabulary, codes = np.unique(values, return_inverse=True)
    return labels(codes, [str(v) for v in vocabulary])


def write_orders(con: duckdb.DuckDBPyConnection, world: World, plan: BadPlan, path: Path) -> int:
    """``orders``: one-off (avulso) orders; the order id prefix tells marketplace (MKT) from store (LJ)."""
    o = world.one_offs.take(plan.order)
    prefixes = [prefix for prefix, _, _ in config.ONE_OFF_OUTLETS]
    table = pa.table(
        {
            "row_number": np.arange(1, len(o) + 1),
            "prefix": labels(o["outlet"], prefixes),
            "seq": o["seq"],
            "customer_id": world.customers["contact_id"][o["cust"]],
            "date": _day_labels(o["day"]),
            "amount": o["amount_c"],
            "channel": labels(o["channel"], [c.key for c in config.CHANNELS]),
            "plan": labels(o["plan"], [p.key for p in config.PLANS]),
            "bad": plan.kind_at_positions(),
        }
    )
    select = f"""SELECT prefix || '-' || lpad(seq::VARCHAR, 7, '0') AS order_id, customer_id::VARCHAR AS customer_id,
            CASE WHEN bad = {_code(plan, "missing_date")} THEN NULL ELSE date::VARCHAR END AS order_date,
            {_amount_sql(plan)} AS amount_brl, channel::VARCHAR AS channel, plan::VARCHAR AS plan,
            'avulso' AS order_type
        FROM sheet"""
    _copy(con, table, select, path)
    return len(o)
