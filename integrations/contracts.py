"""Table contracts: validate a batch of strings into typed good rows and rejected rows with reasons.

Every source (Sheets worksheets, CSV exports, HubSpot objects) arrives as text; a contract says which
columns it must have, how each is typed and checked, and what identifies a row. Validation is SQL on
the DuckDB connection that holds the batch (the warehouse's staging connection), so a million rows
validate in seconds and the good rows never leave the engine before they are merged. Row numbers
are 1-based (the header is row 0), as a person counts them in a sheet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from integrations.duplicates import reject_already_accepted, reject_duplicate_keys

if TYPE_CHECKING:
    import duckdb

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
    """The outcome of :func:`validate`: ``good`` and ``rejected`` name tables on the validating connection.

    ``good`` has the contract's typed columns plus any other columns of the batch; ``rejected`` has
    ``rejected_id``, ``source``, ``source_row``, ``reason`` and ``raw`` (the row as JSON text).
    """

    good: str
    rejected: str
    good_rows: int
    rejected_rows: int
    reject_reasons: dict[str, int]
    # with ``accepted``: a table of the primary keys of the good rows that replace rows an earlier batch of
    # the same load accepted; every other good key is new to the load
    replacing: str | None = None


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
    return f"r_{column.name}"


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
            digits = f"d_{column.name}"  # computed once beside the cleaned text (see _typed_relation)
            return (
                f"case when regexp_full_match({raw}, '^[0-9+()\\s.-]+$') "
                f"and regexp_full_match({digits}, '{PHONE_DIGITS_PATTERN}') "
                f"then '+55' || case when starts_with({digits}, '55') then {digits}[3:] else {digits} end end"
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


def validate(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: str,
    what: str = "table",
    *,
    first_row: int = 1,
    accepted: str | None = None,
) -> ValidatedBatch:
    """Split relation ``source`` on ``con`` (text columns) into typed good rows and rejects.

    Rejections: missing required values, unparseable or out-of-range values, unknown categorical
    values, failed row checks, exact duplicate rows (if the contract says so), and rows whose key a
    later valid row repeats (the later one wins: a corrected sheet row, a newer CRM version).
    Columns outside the contract pass through untouched.

    ``source`` is read once (it may be a view over files): its text, each value typed and each row's
    verdict are kept in ``<source>_judged``; ``<source>_valid`` is a view of the good rows' typed values,
    and ``<source>_rejected`` a table (with each rejected row's original text). Rows are numbered
    ``source_row`` in the order ``source`` gives them, from ``first_row`` (a load validating in batches
    continues the numbering), by their position in ``<source>_judged`` rather than a ``row_number()``,
    which would read the source on one thread. ``accepted`` names a table (created on first use)
    remembering the keys accepted by earlier batches of the same load: a row whose key an earlier batch
    accepted with a ``latest_by`` no older is rejected too, and this batch's good keys are added to it;
    ``<source>_replacing`` then lists the good keys an earlier batch accepted (see ``ValidatedBatch``).
    """
    columns = [name for name, *_ in con.sql(f"describe {source}").fetchall()]
    check_columns(contract, columns, what)
    present = [c for c in contract.columns if c.name in columns]
    absent = [c for c in contract.columns if c.name not in columns]
    passthrough = [_q(c) for c in columns if c not in contract.column_names]
    judged, good, rejected = f"{source}_judged", f"{source}_valid", f"{source}_rejected"

    error_exprs = [e for c in present for e in _errors(c)]
    for condition, reason in contract.checks:
        typed_condition = condition
        for c in present:
            typed_condition = re.sub(rf"\b{re.escape(c.name)}\b", f"t_{c.name}", typed_condition)
        error_exprs.append(f"case when not coalesce({typed_condition}, true) then '{reason}' end")
    originals = ", ".join(_q(c) for c in columns)
    typed_columns = "".join(f", t_{c.name}" for c in present)
    # the typed values are kept beside the text: the checks below and the good rows read them instead of
    # parsing every value again
    con.execute(
        f"""create or replace temp table {judged} as
        select {originals}{typed_columns}, nullif(concat_ws('; ', {", ".join(error_exprs) or "null"}), '') as reason
        from {_typed_relation(source, present)}"""
    )
    rows = f"(select rowid + {int(first_row)} as source_row, * from {judged})"  # rowid: order of insertion
    # rows rejected once the whole batch is known (duplicates): few, so kept apart rather than updated in place
    late = f"{judged}_late"
    con.execute(f"create or replace temp table {late} (source_row bigint, reason varchar)")
    valid = (
        f"(select * from {rows} as j where reason is null "
        f"and not exists (select 1 from {late} as l where l.source_row = j.source_row))"
    )
    keys = [f"t_{k}" if k in contract.column_names else _q(k) for k in contract.primary_key]
    latest = f"t_{contract.latest_by}" if contract.latest_by else "source_row"
    reject_duplicate_keys(
        con,
        rows,
        late,
        keys,
        order=f"{latest}, source_row",
        row_columns=originals,
        reject_exact_duplicates=contract.reject_exact_duplicates,
    )
    replacing = None
    if accepted is not None:
        candidates = f"(select {', '.join(keys)}, {latest} as latest, source_row from {valid})"
        replacing = f"{source}_replacing"
        key_names = [_q(k) for k in contract.primary_key]
        reject_already_accepted(con, candidates, late, accepted, keys, replacing=replacing, key_names=key_names)

    con.execute(
        f"create or replace temp view {good} as select "
        + ", ".join(
            [f"t_{c.name} as {_q(c.name)}" for c in present]
            + [f"null::{_SQL_TYPES.get(c.kind, 'varchar')} as {_q(c.name)}" for c in absent]
            + passthrough
        )
        + f" from {valid}"
    )
    raw = "to_json(struct_pack(" + ", ".join(f"{_q(c)} := j.{_q(c)}" for c in columns) + "))::varchar"
    con.execute(
        f"""create or replace temp table {rejected} as
        select md5(raw || reason || case when copy > 1 then '#' || copy else '' end) as rejected_id,
               '{contract.name}' as source, source_row, reason, raw
        from (select *, row_number() over (partition by raw, reason order by source_row) as copy from (
            select source_row, reason, {raw} as raw from {rows} as j where reason is not null
            union all
            select source_row, l.reason, {raw} as raw from {rows} as j join {late} as l using (source_row)
        ))
        order by source_row"""
    )
    total, rejected_rows = con.sql(
        f"select (select count(*) from {judged}), (select count(*) from {rejected})"
    ).fetchall()[0]
    return ValidatedBatch(
        good, rejected, int(total - rejected_rows), int(rejected_rows), _reasons(con, rejected), replacing
    )


def _cleaned(column: str) -> str:
    """The text without surrounding spaces, null when nothing is left; trims only when needed (trim copies)."""
    value = _q(column)
    return (
        f"case when {value} = '' or starts_with({value}, ' ') or ends_with({value}, ' ') "
        f"then nullif(trim({value}), '') else {value} end"
    )


def _typed_relation(relation: str, columns: list[ColumnSpec]) -> str:
    """``relation`` plus, for each contract column, its cleaned text ``r_<name>`` and typed value ``t_<name>``
    (and a phone's digits ``d_<name>``)."""
    cleaned = ", ".join(["*", *(f"{_cleaned(c.name)} as {_raw(c)}" for c in columns)])
    digits = [f"regexp_replace({_q(c.name)}, '[^0-9]', '', 'g') as d_{c.name}" for c in columns if c.kind == "phone"]
    cleaned = ", ".join([cleaned, *digits])
    typed = ", ".join(["*", *(f"{_typed(c)} as t_{c.name}" for c in columns)])
    return f"(select {typed} from (select {cleaned} from {relation}))"


def _reasons(con: duckdb.DuckDBPyConnection, rejected: str) -> dict[str, int]:
    """How many rejected rows give each reason (the part before ':'; a row may give several)."""
    rows = con.sql(
        f"""select split_part(part, ':', 1) as reason, count(*)
        from (select unnest(string_split(reason, '; ')) as part from {rejected}) group by all order by 1"""
    ).fetchall()
    return {reason: int(count) for reason, count in rows}
