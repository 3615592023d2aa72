"""Orders exported from another system (CSV), shaped like the ``orders`` worksheet.

Columns: ``customer_id``, ``order_date``, ``amount`` (required); ``order_id``, ``channel``, ``plan``
(optional). A customer may place several identical orders on one day, so rows are never treated as
duplicates of each other; an export without ``order_id`` gets a stable id derived from the row's
content and its occurrence number, so importing the same file twice changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.contracts import ColumnSpec, ContractError, TableContract, check_columns

if TYPE_CHECKING:
    import duckdb

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


def shape_orders_export(con: duckdb.DuckDBPyConnection, export: str, table: str, source_name: str) -> None:
    """Rename and complete table ``export`` (text columns, in file order) into the ``orders`` worksheet's
    columns, still all text and in the same order, as temp table ``table``."""
    names = {name for name, *_ in con.sql(f"describe {export}").fetchall()}
    check_columns(EXPORT_COLUMNS, sorted(names), what="file")
    if "amount_brl" in names:
        raise ContractError("file has both 'amount' and 'amount_brl'; keep one")

    def optional(name: str) -> str:
        return f'"{name}"' if name in names else "null::varchar"

    derived_id = (
        "'csv-' || substr(md5(concat_ws('|', customer_id, order_date, amount, "
        "row_number() over (partition by customer_id, order_date, amount order by row))), 1, 20)"
    )
    order_id = f"coalesce(nullif(trim({optional('order_id')}), ''), {derived_id})"
    con.execute(
        f"""create or replace temp table {table} as
        select {order_id} as order_id, customer_id, order_date, amount as amount_brl,
               {optional("channel")} as channel, {optional("plan")} as plan,
               'import' as order_type, ? as source
        from (select rowid as row, * from {export}) order by row""",
        [source_name],
    )
