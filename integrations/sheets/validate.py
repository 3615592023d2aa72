"""Validate a worksheet (all strings) into typed good rows and rejected rows with reasons.

Runs as one DuckDB query over the Arrow table, so a million-row orders export validates in about a
second. Row numbers are 1-based data rows (the header is row 0), as a person counts them in the sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from integrations.sheets.specs import ColumnSpec, WorksheetSpec

AMOUNT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


class SheetSchemaError(ValueError):
    """The worksheet's header does not match its contract; nothing from it may be loaded."""


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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _typed(column: ColumnSpec) -> str:
    raw = f"nullif(trim({_q(column.name)}), '')"
    if column.kind == "date":
        return f"try_strptime({raw}, '%Y-%m-%d')::date"
    if column.kind == "month":
        return f"try_strptime({raw} || '-01', '%Y-%m-%d')::date"
    if column.kind in ("amount", "signed_amount"):
        return f"case when regexp_full_match({raw}, '{AMOUNT_PATTERN}') then {raw}::decimal(18, 2) end"
    return raw


def _errors(column: ColumnSpec) -> list[str]:
    name, raw = column.name, f"nullif(trim({_q(column.name)}), '')"
    typed = f"t_{name}"
    errors = []
    if column.required:
        errors.append(f"case when {raw} is null then '{name}: missing' end")
    if column.kind in ("date", "month", "amount", "signed_amount"):
        errors.append(f"case when {raw} is not null and {typed} is null then '{name}: invalid {column.kind}' end")
    if column.kind == "amount":
        errors.append(f"case when {typed} < 0 then '{name}: negative' end")
    if column.allowed:
        values = ", ".join("'" + v + "'" for v in column.allowed)
        errors.append(f"case when {raw} is not null and {raw} not in ({values}) then '{name}: unknown value' end")
    return errors


def check_header(spec: WorksheetSpec, header: list[str]) -> None:
    """Fail with a message naming the sheet and the missing column (a renamed header, usually)."""
    present = {h.strip() for h in header}
    missing = [c for c in spec.required_names if c not in present]
    if missing:
        unexpected = sorted(present - set(spec.column_names))
        hint = f"; unexpected columns {unexpected} — was one renamed?" if unexpected else ""
        raise SheetSchemaError(
            f"worksheet '{spec.name}' is missing required column(s) {missing}{hint} "
            f"Expected header: {spec.column_names}. Nothing from this worksheet was loaded."
        )


def validate(spec: WorksheetSpec, table: pa.Table) -> ValidatedBatch:
    """Split ``table`` (string columns, as read from the sheet) into typed good rows and rejected rows.

    Rejections: missing required values, unparseable dates/amounts, negative amounts, unknown
    categorical values, exact duplicate rows, and earlier rows whose primary key a later row repeats
    (the later row wins, as in a sheet someone corrected by appending).
    """
    import duckdb

    check_header(spec, table.column_names)
    present = [c for c in spec.columns if c.name in table.column_names]
    absent = [c for c in spec.columns if c.name not in table.column_names]
    original = ", ".join(_q(c) for c in table.column_names)
    typed_cols = ", ".join(f"{_typed(c)} as t_{c.name}" for c in present)
    error_exprs = [e for c in present for e in _errors(c)]
    for condition, reason in spec.checks:
        typed_condition = condition
        for c in present:
            typed_condition = typed_condition.replace(c.name, f"t_{c.name}")
        error_exprs.append(f"case when not coalesce({typed_condition}, true) then '{reason}' end")
    keys = ", ".join(f"t_{k}" for k in spec.primary_key)
    select_good = ", ".join(
        [f"t_{c.name} as {_q(c.name)}" for c in present] + [f"null::varchar as {_q(c.name)}" for c in absent]
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
        -- only a valid row may supersede an earlier row with the same key
        select *,
            max(case when len(errors) = 0 and copy_number = 1 then source_row end)
                over (partition by {keys}) as last_with_key
        from checked
    ), judged as (
        select *,
            case
                when len(errors) > 0 then array_to_string(errors, '; ')
                when copy_number > 1 then 'duplicate row: same as row ' || first_copy
                when source_row < last_with_key then 'duplicate key: superseded by row ' || last_with_key
            end as reason
        from ranked
    )
    select * from judged order by source_row
    """
    con = duckdb.connect()
    try:
        con.register("incoming", table)
        con.execute(f"create temp table judged as {sql}")
        good = con.sql(f"select {select_good} from judged where reason is null order by source_row").to_arrow_table()
        raw_struct = ", ".join(f"{_q(c)} := {_q(c)}" for c in table.column_names)
        rejected = con.sql(
            f"""select md5(to_json(struct_pack({raw_struct}))::varchar || reason) as rejected_id,
                       '{spec.name}' as worksheet, source_row, reason,
                       to_json(struct_pack({raw_struct}))::varchar as raw
                from judged where reason is not null order by source_row"""
        ).to_arrow_table()
    finally:
        con.close()
    return ValidatedBatch(good=good, rejected=rejected)
