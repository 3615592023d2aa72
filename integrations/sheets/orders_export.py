"""Orders exported from another system (CSV), shaped like the ``orders`` worksheet.

Columns: ``customer_id``, ``order_date``, ``amount`` (required); ``order_id``, ``channel``, ``plan``
(optional). A customer may place several identical orders on one day, so rows are never treated as
duplicates of each other; an export without ``order_id`` gets a stable id derived from the row's
content and its occurrence number, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import pyarrow as pa

from integrations.contracts import ColumnSpec, ContractError, TableContract, check_columns

EXPORT_COLUMNS = TableContract(
    name="orders export",
    columns=(
        ColumnSpec("customer_id"),
        ColumnSpec("order_date"),
        ColumnSpec("amount"),
        ColumnSpec("order_id", required=False),
        ColumnSpec("channel", required=False),
        ColumnSpec("plan", required=False),
    ),
    primary_key=(),
)


def shape_orders_export(table: pa.Table, source_name: str) -> pa.Table:
    """Rename and complete an export into the ``orders`` worksheet's columns (still all text)."""
    import duckdb

    check_columns(EXPORT_COLUMNS, table.column_names, what="file")
    names = set(table.column_names)
    if "amount_brl" in names:
        raise ContractError("file has both 'amount' and 'amount_brl'; keep one")

    def optional(name: str) -> str:
        return f'"{name}"' if name in names else "null::varchar"

    derived_id = (
        "'csv-' || substr(md5(concat_ws('|', customer_id, order_date, amount, "
        "row_number() over (partition by customer_id, order_date, amount order by source_row))), 1, 20)"
    )
    order_id = f"coalesce(nullif(trim({optional('order_id')}), ''), {derived_id})"
    con = duckdb.connect()
    try:
        con.register("export", table)
        return con.sql(
            f"""
            with numbered as (select row_number() over () as source_row, * from export)
            select {order_id} as order_id, customer_id, order_date, amount as amount_brl,
                   {optional("channel")} as channel, {optional("plan")} as plan,
                   'import' as order_type, ? as source
            from numbered order by source_row
            """,
            params=[source_name],
        ).to_arrow_table()
    finally:
        con.close()
