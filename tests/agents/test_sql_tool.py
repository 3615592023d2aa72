"""The Researcher's read-only SQL tool: what it refuses, the row cap, the timeout; DuckDB and PostgreSQL."""

from __future__ import annotations

import time

import psycopg2
import pytest

from agents.sql_tool import QueryFailed, QueryTimeout, SqlTool, UnsafeQuery, check_with_tokenizer

PARSERS = ["sqlglot", "tokenizer"]

REJECTED = {
    "insert": "insert into marts.big values (1)",
    "update": "update marts.big set x = 0",
    "delete": "delete from marts.big",
    "drop": "drop table marts.big",
    "create": "create table marts.copy as select * from marts.big",
    "attach": "attach '/tmp/other.duckdb' as other",
    "copy": "copy marts.big to '/tmp/out.csv'",
    "pragma": "pragma database_list",
    "set": "set threads = 8",
    "select into": "select * into marts.copy from marts.big",
    "two statements": "select 1 from marts.big; drop table marts.big",
    "select then write": "select x from marts.big; insert into marts.big values (1)",
    "raw schema": "select email from raw_hubspot.contacts",
    "raw schema in a join": "select b.x from marts.big as b join raw_hubspot.contacts as c on true",
    "raw after a join condition": "select 1 from marts.big as b join marts.big as c on true, raw_hubspot.contacts",
    "raw schema in a subquery": "select (select max(email) from raw_hubspot.contacts) as e from marts.big",
    "raw schema in a CTE": "with c as (select * from raw_hubspot.contacts) select * from c",
    "raw schema in a union": "select 'x' from marts.big union all select email from raw_hubspot.contacts",
    "raw schema in a FROM subquery": "select t.e from (select email as e from raw_hubspot.contacts) as t",
    "raw after a FROM subquery": "select 1 from (select x from marts.big) as t, raw_hubspot.contacts",
    "raw schema in an ARRAY subquery": "select array(select email from raw_hubspot.contacts) from marts.big",
    "information_schema": "select * from information_schema.tables",
    "pg_catalog": "select * from pg_catalog.pg_tables",
    "unqualified table": "select * from secrets",
    "main schema": "select * from main.secrets",
    "catalog-qualified": "select * from marts_db.marts.big",
    "read_csv": "select * from read_csv('/etc/passwd')",
    "read_parquet": "select * from read_parquet('/tmp/x.parquet')",
    "read_csv in a join": "select * from marts.big, read_csv_auto('/etc/hosts')",
    "file path as a table": "select * from '/etc/passwd'",
    "glob": "select * from glob('/*')",
    "query_table": "select * from query_table('raw_hubspot.contacts')",
    "getenv": "select getenv('HOME')",
    "current_setting": "select current_setting('TimeZone')",
    "pg_sleep": "select pg_sleep(10)",
    "describe": "describe marts.big",
    "not a query": "vacuum",
    "empty": "   ",
}


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("sql", list(REJECTED.values()), ids=list(REJECTED))
def test_rejects_everything_but_one_select_over_the_allowed_schemas(marts_url: str, parser: str, sql: str) -> None:
    tool = SqlTool(marts_url, parser=parser)
    with pytest.raises(UnsafeQuery):
        tool.run(sql)


ALLOWED = [
    "select count(*) from marts.big",
    "SELECT x FROM marts.big WHERE x < 3 ORDER BY x",
    "with t as (select x from marts.big where x < 10) select max(x) from t",
    "select a.x from marts.big as a join marts.big as b on a.x = b.x where a.x = 1",
    "select extract(year from month) as y, count(*) from marts.fct_cac group by 1 order by 1",
    "select (select max(x) from marts.big) as m from marts.big limit 1",
    "select series, sum(yhat) from forecasts.revenue group by series order by series;",
    "select 1 as one from marts.big where x in (select x from marts.big where x = 2)",
    "select t.m from (select max(x) as m from marts.big) as t",
    "select l.m / c.n from (select max(x) as m from marts.big) as l, (select count(*) as n from marts.big) as c",
]


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("sql", ALLOWED)
def test_accepts_plain_queries(marts_url: str, parser: str, sql: str) -> None:
    result = SqlTool(marts_url, parser=parser).run(sql)
    assert result.rows and not result.truncated


@pytest.mark.parametrize("parser", PARSERS)
def test_row_cap(marts_url: str, parser: str) -> None:
    tool = SqlTool(marts_url, row_limit=200, parser=parser)
    capped = tool.run("select x from marts.big order by x")
    assert (len(capped.rows), capped.truncated) == (200, True)
    assert capped.rows[-1] == (199,)
    asked_more = tool.run("select x from marts.big order by x limit 100000")
    assert (len(asked_more.rows), asked_more.truncated) == (200, True)
    union = tool.run("select x from marts.big union all select x from marts.big")
    assert (len(union.rows), union.truncated) == (200, True)
    small = tool.run("select x from marts.big order by x limit 5")
    assert (small.rows, small.truncated) == ([(0,), (1,), (2,), (3,), (4,)], False)
    if parser == "sqlglot":  # the tokenizer wraps the query in its own LIMIT instead
        with pytest.raises(UnsafeQuery, match="LIMIT must be a whole number"):
            tool.run("select x from marts.big limit (select 5)")
    else:
        assert len(tool.run("select x from marts.big limit (select 500)").rows) == 200


def test_times_out_a_slow_query(marts_url: str) -> None:
    tool = SqlTool(marts_url, timeout_s=0.3, duckdb_threads=1)
    started = time.perf_counter()
    with pytest.raises(QueryTimeout, match=r"longer than 0\.3 s"):
        tool.run("select sum(a.x * b.x * c.x) from marts.big as a, marts.big as b, marts.big as c")
    assert time.perf_counter() - started < 5
    assert tool.scalar("select count(*) from marts.big") == 3000  # the tool still works


def test_duckdb_connection_refuses_writes_and_files_even_unchecked(marts_url: str) -> None:
    tool = SqlTool(marts_url)
    for statement in ("insert into marts.big values (1)", "select * from read_csv('/etc/hostname')", "set threads = 4"):
        with pytest.raises(QueryFailed):
            tool._execute(statement)  # below the checker: the engine itself says no
    assert tool.scalar("select count(*) from marts.big") == 3000


def test_describe_lists_only_allowed_schemas(sql_tool: SqlTool) -> None:
    text = sql_tool.describe()
    assert "marts.fct_cac(month date" in text and "forecasts.revenue(" in text
    assert "raw_hubspot" not in text and "secrets" not in text


def test_the_catalog_is_never_cut_by_the_row_cap(marts_url: str) -> None:
    """tables()/describe() list every table even when the columns outnumber the row cap."""
    full = SqlTool(marts_url).tables()
    assert sum(len(cols) for cols in full.values()) > 5
    assert SqlTool(marts_url, row_limit=5).tables() == full


def test_tokenizer_rejects_what_it_cannot_read() -> None:
    for sql in ("select $$x$$ from marts.big", "select 'a\\' from marts.big", "select x from marts.big where x = ?"):
        with pytest.raises(UnsafeQuery):
            check_with_tokenizer(sql, allowed_schemas=["marts"], row_limit=10)


def test_session_reuses_one_connection(marts_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = SqlTool(marts_url, timeout_s=0.3)
    opened = []
    connect = tool._connect
    monkeypatch.setattr(tool, "_connect", lambda: opened.append(1) or connect())
    with tool.session():
        assert tool.scalar("select count(*) from marts.big") == 3000
        with pytest.raises(QueryTimeout):
            tool.run("select sum(a.x * b.x * c.x) from marts.big as a, marts.big as b, marts.big as c")
        with pytest.raises(QueryFailed):
            tool._execute("insert into marts.big values (1)")
        assert tool.scalar("select max(x) from marts.big") == 2999  # still usable after both
    assert len(opened) == 1
    tool.scalar("select 1 from marts.big limit 1")
    assert len(opened) == 2  # outside a session: a connection per query


@pytest.mark.postgres
def test_postgres_read_only_transaction_and_statement_timeout(postgres_dsn: str) -> None:
    con = psycopg2.connect(postgres_dsn)
    with con, con.cursor() as cur:
        cur.execute("create schema marts; create table marts.big as select generate_series(0, 2999) as x")
        cur.execute("create schema raw_hubspot; create table raw_hubspot.contacts (email text)")
    con.close()
    tool = SqlTool(postgres_dsn, row_limit=50, timeout_s=0.3)

    def exercise() -> None:
        result = tool.run("select x from marts.big order by x")
        assert (len(result.rows), result.truncated, result.rows[0]) == (50, True, (0,))
        with pytest.raises(UnsafeQuery):
            tool.run("select * from raw_hubspot.contacts")
        with pytest.raises(QueryFailed, match="read-only transaction"):
            tool._execute("insert into marts.big values (1)")  # below the checker: the engine says no
        with pytest.raises(QueryTimeout):
            tool.run("select count(*) from marts.big as a, marts.big as b, marts.big as c")
        assert tool.scalar("select count(*) from marts.big") == 3000

    exercise()  # a connection per query
    with tool.session():  # one connection, a read-only transaction per query
        exercise()
