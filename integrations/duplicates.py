"""Rows of a validated batch rejected once the whole batch is known: repeated keys, exact copies, and keys an
earlier batch of the same load already accepted (see :func:`integrations.contracts.validate`).

Both add ``(source_row, reason)`` rows to the ``late`` table instead of updating the batch in place:
repeated keys are rare, so they are found with one hash aggregate and only their rows go through window
functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


def reject_duplicate_keys(
    con: duckdb.DuckDBPyConnection,
    keyed: str,
    late: str,
    keys: list[str],
    *,
    order: str,
    row_columns: str,
    reject_exact_duplicates: bool,
) -> None:
    """Add to ``late`` the rows of ``keyed`` whose key a winning row repeats, and exact copies if asked.

    ``keyed`` has ``source_row``, ``reason`` (of rows already rejected), the ``keys`` and what ``order`` sorts
    by: among valid first copies sharing a key, the last in that order wins. ``row_columns`` are the columns
    that make two rows exact copies (copies always share their key).
    """
    key_list = ", ".join(keys)
    repeated = f"{late}_repeated"
    con.execute(
        f"create or replace temp table {repeated} as select {key_list} from {keyed} group by all having count(*) > 1"
    )
    duplicate_rule = (
        "when copy_number > 1 then 'duplicate row: same as row ' || first_copy" if reject_exact_duplicates else ""
    )
    con.execute(
        f"""insert into {late}
        with candidates as (
            select *, hash({row_columns}) as row_hash from {keyed} semi join {repeated} using ({key_list})
        ), copies as (
            select *,
                row_number() over (partition by row_hash order by source_row) as copy_number,
                min(source_row) over (partition by row_hash) as first_copy
            from candidates
        ), ranked as (
            -- only a valid row may supersede another row with the same key
            select *,
                last(case when reason is null and copy_number = 1 then source_row end ignore nulls)
                    over (partition by {key_list} order by {order}
                          rows between unbounded preceding and unbounded following) as winner
            from copies
        )
        select source_row, duplicate from (
            select source_row, case
                    when reason is not null then null
                    {duplicate_rule}
                    when source_row <> winner then 'duplicate key: superseded by row ' || winner
                end as duplicate
            from ranked
        )
        where duplicate is not null"""
    )
    con.execute(f"drop table {repeated}")


def reject_already_accepted(
    con: duckdb.DuckDBPyConnection,
    candidates: str,
    late: str,
    accepted: str,
    keys: list[str],
    *,
    replacing: str,
    key_names: list[str],
) -> None:
    """Add to ``late`` the ``candidates`` whose key the ``accepted`` table holds with a ``latest`` no older.

    The keys of the other candidates an earlier batch accepted (newer versions, which replace what that batch
    stored) go to table ``replacing``, in columns named ``key_names``.
    ``candidates`` (the batch's valid rows: ``keys``, ``latest``, ``source_row``) are then added to
    ``accepted``, created on first use, for the next batch of the load.
    """
    key_list = ", ".join(keys)
    con.execute(f"create temp table if not exists {accepted} as select * from {candidates} limit 0")
    matches = " and ".join(f"v.{k} = a.{k}" for k in keys)
    seen = f"{late}_seen"
    con.execute(
        f"""create or replace temp table {seen} as
        select {", ".join(f"v.{k}" for k in keys)}, v.source_row, v.latest > a.latest as newer,
               a.source_row as accepted_row
        from {candidates} as v join (
            select {key_list}, max(latest) as latest, arg_max(source_row, latest) as source_row
            from {accepted} semi join {candidates} using ({key_list}) group by all
        ) as a on {matches}"""
    )
    con.execute(
        f"insert into {late} select source_row, 'duplicate key: superseded by row ' || accepted_row "
        f"from {seen} where not newer"
    )
    renamed = ", ".join(f"{k} as {name}" for k, name in zip(keys, key_names, strict=True))
    con.execute(f"create or replace temp table {replacing} as select {renamed} from {seen} where newer")
    con.execute(f"drop table {seen}")
    con.execute(f"insert into {accepted} select * from {candidates}")
