"""Table contracts: validate a batch of strings into typed good rows and rejected rows with reasons.

Every source (Sheets worksheets, CSV exports, HubSpot objects) arrives as text; a contract says which
columns it must have, how each is typed and checked, and what identifies a row. One DuckDB query
over the Arrow batch does the work, so a million rows validate in seconds. Row numbers are 1-based
(the header is row 0), as a person counts them in a sheet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

ColumnKind = Literal["text", "date", "month", "timestamp", "amount", "signed_amount", "email", "phone", "boolean"]

AMOUNT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
# Brazilian numbers: optional +55, two-digit area code, 8 or 9 digits; separators are ignored.
PHONE_DIGITS_PATTERN = r"^(55)?[1-9][0-9]9?[0-9]{8}$"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: ColumnKind = "text"
    required: bool = True
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableContract:
    name: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...]
    # extra row rules: (SQL condition over the typed columns that must hold, reason when it does not)
    checks: tuple[tuple[str, str], ...] = ()
    # when several valid rows share a key, the one last in this order wins (default: the later row)
    latest_by: str | None = None
    # exact duplicate rows are rejected (a sheet pasted twice); off where identical rows are legitimate
    reject_exact_duplicates: bool = True

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_names(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


class ContractError(ValueError):
    """The batch's columns do not match its contract; nothing from it may be loaded."""


@dataclass(frozen=True)
class ValidatedBatch:
    good: pa.Table
    rejected: pa.Table

    @property
    def reject_reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason in self.rejected.column("reason").to_pylist():
            for part in reason.split("; "):
                key = part.split(":")[0] if ":" in part else part
                counts[key] = counts.get(key, 0) + 1
        return counts


_SQL_TYPES = {
    "date": "date",
    "month": "date",
    "timestamp": "timestamptz",
    "amount": "decimal(18, 2)",
    "signed_amount": "decimal(18, 2)",
    "boolean": "boolean",
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _raw(column: ColumnSpec) -> str:
    return f"nullif(trim({_q(column.name)}), '')"


def _typed(column: ColumnSpec) -> str:
    raw = _raw(column)
    match column.kind:
        case "date":
            return f"try_strptime({raw}, '%Y-%m-%d')::date"
        case "month":
            return f"try_strptime({raw} || '-01', '%Y-%m-%d')::date"
        case "timestamp":
            return f"try_cast({raw} as timestamptz)"
        case "amount" | "signed_amount":
            return f"case when regexp_full_match({raw}, '{AMOUNT_PATTERN}') then {raw}::decimal(18, 2) end"
        case "email":
            return f"case when regexp_full_match({raw}, '{EMAIL_PATTERN}') then lower({raw}) end"
        case "phone":
            digits = f"regexp_replace({raw}, '[^0-9]', '', 'g')"
            return (
                f"case when regexp_full_match({raw}, '^[0-9+()\\s.-]+$') "
                f"and regexp_full_match({digits}, '{PHONE_DIGITS_PATTERN}') "
                f"then '+55' || regexp_replace({digits}, '^55', '') end"
            )
        case "boolean":
            return f"case lower({raw}) when 'true' then true when 'false' then false end"
    return raw


def _errors(column: ColumnSpec) -> list[str]:
    name, raw, typed = column.name, _raw(column), f"t_{column.name}"
    errors = []
    if column.required:
        errors.append(f"case when {raw} is null then '{name}: missing' end")
    if column.kind != "text":
        errors.append(f"case when {raw} is not null and {typed} is null then '{name}: invalid {column.kind}' end")
    if column.kind == "amount":
        errors.append(f"case when {typed} < 0 then '{name}: negative' end")
    if column.allowed:
        values = ", ".join("'" + v + "'" for v in column.allowed)
        errors.append(f"case when {raw} is not null and {raw} not in ({values}) then '{name}: unknown value' end")
    return errors


def check_columns(contract: TableContract, columns: list[str], what: str = "table") -> None:
    """Fail with a message naming the source and the missing column (a renamed header, usually)."""
    present = {c.strip() for c in columns}
    missing = [c for c in contract.required_names if c not in present]
    if missing:
        unexpected = sorted(present - set(contract.column_names))
        hint = f"; unexpected columns {unexpected} — was one renamed?" if unexpected else ""
        raise ContractError(
            f"{what} '{contract.name}' is missing required column(s) {missing}{hint} "
            f"Expected: {contract.column_names}. Nothing from this {what} was loaded."
        )


def validate(contract: TableContract, table: pa.Table, what: str = "table") -> ValidatedBatch:
    """Split ``table`` (text columns) into typed good rows and rejected rows.

    Rejections: missing required values, unparseable or out-of-range values, unknown categorical
    values, failed row checks, exact duplicate rows (if the contract says so), and rows whose key a
    later valid row repeats (the later one wins: a corrected sheet row, a newer CRM version).
    Columns outside the contract pass through untouched.
    """
    import duckdb

    check_columns(contract, table.column_names, what)
    present = [c for c in contract.columns if c.name in table.column_names]
    absent = [c for c in contract.columns if c.name not in table.column_names]
    passthrough = [c for c in table.column_names if c not in contract.column_names]
    original = ", ".join(_q(c) for c in table.column_names)
    typed_cols = ", ".join(f"{_typed(c)} as t_{c.name}" for c in present)
    error_exprs = [e for c in present for e in _errors(c)] or ["null"]
    for condition, reason in contract.checks:
        typed_condition = condition
        for c in present:
            typed_condition = re.sub(rf"\b{re.escape(c.name)}\b", f"t_{c.name}", typed_condition)
        error_exprs.append(f"case when not coalesce({typed_condition}, true) then '{reason}' end")
    keys = ", ".join(f"t_{k}" if k in contract.column_names else _q(k) for k in contract.primary_key)
    order = f"t_{contract.latest_by}, source_row" if contract.latest_by else "source_row"
    duplicate_rule = (
        "when copy_number > 1 then 'duplicate row: same as row ' || first_copy"
        if contract.reject_exact_duplicates
        else ""
    )
    select_good = ", ".join(
        [f"t_{c.name} as {_q(c.name)}" for c in present]
        + [f"null::{_SQL_TYPES.get(c.kind, 'varchar')} as {_q(c.name)}" for c in absent]
        + [_q(c) for c in passthrough]
    )

    sql = f"""
    with src as (
        select row_number() over () as source_row, hash({original}) as row_hash, {original} from incoming
    ), typed as (
        select *, {typed_cols} from src
    ), checked as (
        select *,
            list_filter([{", ".join(error_exprs)}], lambda x: x is not null) as errors,
            row_number() over (partition by row_hash order by source_row) as copy_number,
            min(source_row) over (partition by row_hash) as first_copy
        from typed
    ), ranked as (
        -- only a valid row may supersede another row with the same key
        select *,
            last(case when len(errors) = 0 and copy_number = 1 then source_row end ignore nulls)
                over (partition by {keys} order by {order}
                      rows between unbounded preceding and unbounded following) as winner
        from checked
    ), judged as (
        select *,
            case
                when len(errors) > 0 then array_to_string(errors, '; ')
                {duplicate_rule}
                when source_row <> winner then 'duplicate key: superseded by row ' || winner
            end as reason
        from ranked
    )
    select * from judged
    """
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.register("incoming", table)
        con.execute(f"create temp table judged as {sql}")
        good = con.sql(f"select {select_good} from judged where reason is null order by source_row").to_arrow_table()
        raw_struct = ", ".join(f"{_q(c)} := {_q(c)}" for c in table.column_names)
        rejected = con.sql(
            f"""select md5(to_json(struct_pack({raw_struct}))::varchar || reason) as rejected_id,
                       '{contract.name}' as source, source_row, reason,
                       to_json(struct_pack({raw_struct}))::varchar as raw
                from judged where reason is not null order by source_row"""
        ).to_arrow_table()
    finally:
        con.close()
    return ValidatedBatch(good=good, rejected=rejected)
