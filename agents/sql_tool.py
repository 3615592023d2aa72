"""A read-only SQL tool over the marts, for the Researcher and the figure re-check.

What a query must be (:meth:`SqlTool.check`):

* exactly one ``SELECT`` (``WITH`` … ``SELECT`` and set operations included) — no writes, DDL, ``ATTACH``,
  ``COPY``, ``PRAGMA``, ``SET``, ``SELECT … INTO``, row locks, second statements;
* every table schema-qualified and in an allowed schema (default ``marts`` and ``forecasts``; CTE names
  are fine) — no ``information_schema``/``pg_catalog``/raw schemas, no catalogs, no table functions
  (``read_csv``, ``read_parquet``, ``glob``, ``query_table``…), no file paths as tables;
* no functions that read files, settings or the environment, or sleep (``read_*``, ``pg_*``,
  ``duckdb_*``, ``getenv``, ``current_setting``, ``query``…);
* at most ``row_limit`` rows: a larger or missing ``LIMIT`` is replaced by ``row_limit + 1`` and the
  result is cut to ``row_limit`` rows with ``truncated=True``.

Parsing is done with `sqlglot` (installed with dbt/dagster-dbt) and the statement *as parsed* is what runs;
without sqlglot a conservative tokenizer applies the same rules and rejects anything it does not
understand.

The engine enforces it too: DuckDB opens the file ``read_only`` with external access (files, ATTACH,
COPY, extensions) and Python replacement scans disabled and the configuration locked, and a timer calls
``interrupt()`` after ``timeout_s``; PostgreSQL runs each query in a ``READ ONLY`` transaction with
``statement_timeout`` and rolls it back. ``with tool.session():`` reuses one connection for many queries
(each still checked, capped and timed alone). A DuckDB file can only be opened read-only while no other
process holds it for writing (DuckDB's file lock), and not in a process that has it open read-write: run
agents after a materialization, not inside one.

The connection comes from a warehouse URL: ``duckdb:///path/to/file.duckdb`` or ``postgresql://…``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

DEFAULT_SCHEMAS = ("marts", "forecasts")
DEFAULT_ROW_LIMIT = 200
DEFAULT_TIMEOUT_S = 10.0

# Function names (lower case) that read files, settings or the environment, call other SQL, or sleep.
_DENIED_FUNCTION_PREFIXES = (
    "read_",
    "pg_",
    "duckdb_",
    "lo_",
    "dblink",
    "sqlite_",
    "postgres_",
    "mysql_",
    "parquet_",
    "iceberg_",
    "delta_",
    "http",
    "sniff_",
    "glob",
    "getenv",
    "current_setting",
    "set_config",
    "query",
    "json_execute_serialized_sql",
    "which_secret",
    "load",
    "install",
    "sleep",
    "nextval",
    "setval",
    "txid_",
)


class SqlToolError(Exception):
    """Base of the SQL tool's errors."""


class UnsafeQuery(SqlToolError):
    """The query breaks a rule (see the module doc); it was not run."""


class QueryTimeout(SqlToolError):
    """The query ran longer than the tool's timeout and was stopped."""


class QueryFailed(SqlToolError):
    """The database refused or failed the query."""


@dataclass(frozen=True)
class QueryResult:
    sql: str  # the statement that ran (after the LIMIT rewrite)
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        """The single value of a one-row, one-column result."""
        if len(self.rows) != 1 or len(self.columns) != 1:
            raise SqlToolError(
                f"expected exactly one value, got {len(self.rows)} row(s) × {len(self.columns)} column(s)"
            )
        return self.rows[0][0]


def _denied_function(name: str) -> bool:
    return name.lower().startswith(_DENIED_FUNCTION_PREFIXES)


def _have_sqlglot() -> bool:
    try:
        import sqlglot  # noqa: F401
    except ImportError:  # pragma: no cover - sqlglot comes with dagster-dbt
        return False
    return True


# -- validation with sqlglot ------------------------------------------------------------------------

# sqlglot node types that write, change settings or the session, or are not plain queries.
_FORBIDDEN_NODES = [
    "Insert",
    "Update",
    "Delete",
    "Merge",
    "Create",
    "Drop",
    "Alter",
    "Command",
    "Set",
    "Pragma",
    "Copy",
    "Attach",
    "Detach",
    "Into",
    "Use",
    "Transaction",
    "Commit",
    "Rollback",
    "TruncateTable",
    "LoadData",
    "Describe",
    "Summarize",
    "Lock",
    "Show",
    "Install",
    "Export",
    "Grant",
    "Revoke",
    "Analyze",
    "Cache",
    "Uncache",
    "Refresh",
    "Kill",
    "Declare",
    "Execute",
]


def check_with_sqlglot(sql: str, *, dialect: str, allowed_schemas: Sequence[str], row_limit: int) -> str:
    """Validate ``sql`` and return the statement to run (as parsed, with the LIMIT enforced)."""
    import sqlglot
    from sqlglot import exp

    forbidden = tuple(getattr(exp, name) for name in _FORBIDDEN_NODES if hasattr(exp, name))
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise UnsafeQuery(f"the query cannot be parsed: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise UnsafeQuery(f"exactly one statement is allowed, got {len(statements)}")
    root = statements[0]
    if not isinstance(root, exp.Query):
        raise UnsafeQuery(f"only SELECT queries are allowed, not {root.key.upper()}")
    for node in root.walk():
        if isinstance(node, forbidden):
            raise UnsafeQuery(f"{node.key.upper()} is not allowed in a read-only query")
        if isinstance(node, exp.Func):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            if _denied_function(name):
                raise UnsafeQuery(f"function {name.lower()}() is not allowed")
    ctes = {cte.alias_or_name.lower() for cte in root.find_all(exp.CTE)}
    allowed = {s.lower() for s in allowed_schemas}
    for table in root.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise UnsafeQuery(f"table functions are not allowed: {table.this.sql(dialect=dialect)[:60]}")
        if table.catalog:
            raise UnsafeQuery(f"database-qualified names are not allowed: {table.sql(dialect=dialect)}")
        if not table.db:
            if table.name.lower() in ctes:
                continue
            raise UnsafeQuery(f"table {table.name!r} must be schema-qualified, e.g. marts.{table.name}")
        if table.db.lower() not in allowed:
            raise UnsafeQuery(f"schema {table.db!r} is not allowed: only {', '.join(sorted(allowed))}")
    limit = root.args.get("limit")
    if limit is None:
        root = root.limit(row_limit + 1)
    else:
        count = limit.expression if isinstance(limit, exp.Limit) else None
        if not (isinstance(count, exp.Literal) and count.is_int):
            raise UnsafeQuery("LIMIT must be a whole number (LIMIT n)")
        if int(count.this) > row_limit:
            root = root.limit(row_limit + 1)
    return root.sql(dialect=dialect)


# -- validation without sqlglot: a conservative tokenizer -------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<comment>--[^\n]*|/\*.*?\*/)|(?P<string>'(?:[^']|'')*')|(?P<quoted>"(?:[^"]|"")+")"""
    r"""|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"""
    r"""|(?P<op>::|<>|<=|>=|!=|\|\||[(),.;*+\-/%<>=\[\]])""",
    re.S,
)
_WRITE_WORDS = frozenset(
    [
        "insert",
        "update",
        "delete",
        "merge",
        "create",
        "drop",
        "alter",
        "attach",
        "detach",
        "copy",
        "pragma",
        "set",
        "call",
        "install",
        "load",
        "export",
        "import",
        "grant",
        "revoke",
        "truncate",
        "vacuum",
        "checkpoint",
        "into",
        "begin",
        "commit",
        "rollback",
        "execute",
        "do",
        "prepare",
        "deallocate",
        "listen",
        "notify",
        "lock",
        "reset",
        "use",
        "describe",
        "summarize",
        "show",
        "analyze",
        "returning",
        "table",
    ]
)
_CLAUSE_END = frozenset(
    [
        "where",
        "group",
        "having",
        "order",
        "limit",
        "offset",
        "window",
        "qualify",
        "union",
        "except",
        "intersect",
        "select",
        "fetch",
    ]
)
# Functions whose arguments use FROM without naming a table: EXTRACT(year FROM d), SUBSTRING(x FROM 2).
_FROM_FUNCTIONS = frozenset(["extract", "substring", "trim", "overlay", "position"])


def _tokens(sql: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if match is None:
            raise UnsafeQuery(f"unexpected character {sql[pos]!r} at position {pos}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind == "string" and "\\" in match.group():
            raise UnsafeQuery("backslashes in strings are not allowed")
        if kind not in ("space", "comment"):
            out.append((kind, match.group()))
    return out


def check_with_tokenizer(sql: str, *, allowed_schemas: Sequence[str], row_limit: int) -> str:
    """The same rules as :func:`check_with_sqlglot`, conservatively; returns the statement to run."""
    tokens = _tokens(sql)
    while tokens and tokens[-1] == ("op", ";"):
        tokens.pop()
    if not tokens:
        raise UnsafeQuery("the query is empty")
    if any(t == ("op", ";") for t in tokens):
        raise UnsafeQuery("exactly one statement is allowed")
    words = [(k, v.lower()) for k, v in tokens]
    if words[0] not in (("word", "select"), ("word", "with")):
        raise UnsafeQuery("only SELECT queries are allowed")
    allowed = {s.lower() for s in allowed_schemas}
    ctes = {
        words[i][1]
        for i in range(len(words) - 2)
        if words[i][0] in ("word", "quoted") and words[i + 1] == ("word", "as") and words[i + 2] == ("op", "(")
    }

    def name(i: int) -> str:
        kind, value = tokens[i]
        return value[1:-1].replace('""', '"').lower() if kind == "quoted" else value.lower()

    parens: list[str] = []  # per open paren: the word before it ("" for none)
    in_from: list[bool] = [False]
    expect_table = False
    i = 0
    while i < len(tokens):
        kind, low = words[i]
        if kind == "word" and low in _WRITE_WORDS:
            raise UnsafeQuery(f"{low.upper()} is not allowed in a read-only query")
        if kind == "word" and i + 1 < len(words) and words[i + 1] == ("op", "(") and _denied_function(low):
            raise UnsafeQuery(f"function {low}() is not allowed")
        if expect_table:
            expect_table = False
            if (kind, low) == ("word", "lateral"):
                expect_table = True
            elif (kind, low) == ("op", "("):
                parens.append("")  # a subquery: its own FROM is checked when reached
                in_from.append(False)
            elif kind in ("word", "quoted"):
                parts = [name(i)]
                while i + 2 < len(tokens) and words[i + 1] == ("op", ".") and words[i + 2][0] in ("word", "quoted"):
                    parts.append(name(i + 2))
                    i += 2
                if i + 1 < len(words) and words[i + 1] == ("op", "("):
                    raise UnsafeQuery(f"table functions are not allowed: {'.'.join(parts)}()")
                if len(parts) == 1 and parts[0] not in ctes:
                    raise UnsafeQuery(f"table {parts[0]!r} must be schema-qualified, e.g. marts.{parts[0]}")
                if len(parts) > 2:
                    raise UnsafeQuery(f"database-qualified names are not allowed: {'.'.join(parts)}")
                if len(parts) == 2 and parts[0] not in allowed:
                    raise UnsafeQuery(f"schema {parts[0]!r} is not allowed: only {', '.join(sorted(allowed))}")
            else:
                raise UnsafeQuery(f"only tables of {', '.join(sorted(allowed))} may follow FROM/JOIN, not {low!r}")
        elif (kind, low) == ("op", "("):
            previous = words[i - 1] if i else ("op", "(")
            parens.append(previous[1] if previous[0] == "word" else "")
            in_from.append(False)
        elif (kind, low) == ("op", ")"):
            if not parens:
                raise UnsafeQuery("unbalanced parentheses")
            parens.pop()
            in_from.pop()
        elif kind == "word" and low in ("from", "join"):
            if not (parens and parens[-1] in _FROM_FUNCTIONS):
                in_from[-1] = True
                expect_table = True
        elif (kind, low) == ("op", ",") and in_from[-1]:
            expect_table = True
        elif kind == "word" and low in _CLAUSE_END:
            in_from[-1] = False
        i += 1
    if parens:
        raise UnsafeQuery("unbalanced parentheses")
    body = " ".join(value for _, value in tokens)
    return f"select * from ({body}) as cro_limited limit {row_limit + 1}"


# -- the tool ---------------------------------------------------------------------------------------

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class SqlTool:
    """Runs checked, read-only, row-capped, time-limited queries on the warehouse at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        allowed_schemas: Sequence[str] = DEFAULT_SCHEMAS,
        row_limit: int = DEFAULT_ROW_LIMIT,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        duckdb_threads: int | None = None,
        parser: str = "auto",
    ) -> None:
        if url.startswith("duckdb:///"):
            self.kind = "duckdb"
            self._path = url.removeprefix("duckdb:///")
        elif url.startswith(("postgresql://", "postgres://")):
            self.kind = "postgres"
            self._path = ""
        else:
            raise ValueError("the warehouse URL must start with duckdb:/// or postgresql://")
        for schema in allowed_schemas:
            if not _SCHEMA_NAME.match(schema):
                raise ValueError(f"invalid schema name {schema!r}")
        if row_limit < 1:
            raise ValueError("row_limit must be at least 1")
        if parser not in ("auto", "sqlglot", "tokenizer"):
            raise ValueError("parser must be auto, sqlglot or tokenizer")
        self.url = url
        self.allowed_schemas = tuple(allowed_schemas)
        self.row_limit = row_limit
        self.timeout_s = timeout_s
        self.duckdb_threads = duckdb_threads
        self.parser = ("sqlglot" if _have_sqlglot() else "tokenizer") if parser == "auto" else parser
        self._local = threading.local()

    @property
    def dialect(self) -> str:
        return "postgres" if self.kind == "postgres" else "duckdb"

    def check(self, sql: str) -> str:
        """The statement that would run for ``sql``, or :class:`UnsafeQuery`."""
        if self.parser == "sqlglot":
            return check_with_sqlglot(
                sql, dialect=self.dialect, allowed_schemas=self.allowed_schemas, row_limit=self.row_limit
            )
        return check_with_tokenizer(sql, allowed_schemas=self.allowed_schemas, row_limit=self.row_limit)

    def run(self, sql: str) -> QueryResult:
        statement = self.check(sql)
        columns, rows = self._execute(statement)
        return QueryResult(statement, columns, rows[: self.row_limit], truncated=len(rows) > self.row_limit)

    def scalar(self, sql: str) -> Any:
        return self.run(sql).scalar()

    # -- trusted metadata (never takes a query from outside) --

    def tables(self) -> dict[str, list[tuple[str, str]]]:
        """``{"schema.table": [(column, type), …]}`` for the allowed schemas."""
        schemas = ", ".join(f"'{s}'" for s in self.allowed_schemas)
        statement = (
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            f"where table_schema in ({schemas}) order by table_schema, table_name, ordinal_position"
        )
        _, rows = self._execute(statement, fetch=None)  # the catalog, not an answer: never capped
        out: dict[str, list[tuple[str, str]]] = {}
        for schema, table, column, data_type in rows:
            out.setdefault(f"{schema}.{table}", []).append((column, str(data_type).lower()))
        return out

    def has_table(self, qualified: str) -> bool:
        return qualified in self.tables()

    def describe(self) -> str:
        """The allowed tables and their columns, one line each, for a prompt."""
        return "\n".join(f"{t}({', '.join(f'{c} {d}' for c, d in cols)})" for t, cols in self.tables().items())

    # -- engines --

    @contextmanager
    def session(self) -> Iterator[SqlTool]:
        """Reuse one read-only connection for the queries inside (opening one costs tens of ms).

        Every query still runs alone: on PostgreSQL in its own read-only transaction with its own
        ``statement_timeout``, on DuckDB with its own interrupt timer. Sessions are per thread.
        """
        if getattr(self._local, "con", None) is not None:
            yield self
            return
        con = self._connect()
        self._local.con = con
        try:
            yield self
        finally:
            self._local.con = None
            con.close()

    def _connect(self) -> Any:
        if self.kind == "duckdb":
            import duckdb

            config: dict[str, Any] = {
                "enable_external_access": False,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "python_enable_replacements": False,  # no scanning of Python variables by name
            }
            if self.duckdb_threads:
                config["threads"] = self.duckdb_threads
            try:
                con = duckdb.connect(self._path, read_only=True, config=config)
                con.execute("set TimeZone = 'UTC'")
                con.execute("set lock_configuration = true")
            except duckdb.Error as exc:
                raise QueryFailed(f"cannot open the DuckDB warehouse read-only: {exc}") from None
            return con
        import psycopg2

        try:
            con = psycopg2.connect(self.url, connect_timeout=10)
        except psycopg2.Error as exc:
            raise QueryFailed(f"cannot connect to the warehouse: {str(exc).splitlines()[0]}") from None
        con.set_session(readonly=True)
        return con

    def _execute(self, statement: str, *, fetch: int | None = -1) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``statement``; keep ``fetch`` rows (default: the row cap + 1, to tell truncation; ``None``: all)."""
        shared = getattr(self._local, "con", None)
        con = shared if shared is not None else self._connect()
        limit = self.row_limit + 1 if fetch == -1 else fetch
        try:
            if self.kind == "duckdb":
                return self._execute_duckdb(con, statement, limit)
            return self._execute_postgres(con, statement, limit)
        finally:
            if shared is None:
                con.close()

    def _execute_duckdb(self, con: Any, statement: str, limit: int | None) -> tuple[list[str], list[tuple[Any, ...]]]:
        import duckdb

        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            con.interrupt()

        timer = threading.Timer(self.timeout_s, stop)
        timer.start()
        try:
            cursor = con.execute(statement)
            rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit)
            columns = [d[0] for d in cursor.description or []]
            return columns, [tuple(r) for r in rows]
        except duckdb.Error as exc:
            if timed_out.is_set():
                raise QueryTimeout(f"the query ran longer than {self.timeout_s:g} s and was stopped") from None
            raise QueryFailed(f"the query failed: {str(exc).splitlines()[0]}") from None
        finally:
            timer.cancel()

    def _execute_postgres(self, con: Any, statement: str, limit: int | None) -> tuple[list[str], list[tuple[Any, ...]]]:
        import psycopg2
        import psycopg2.errors

        try:
            with con.cursor() as cur:
                cur.execute("set transaction read only")
                cur.execute(f"set local statement_timeout = {max(1, int(self.timeout_s * 1000))}")
                cur.execute(statement)
                rows = cur.fetchall() if limit is None else cur.fetchmany(limit)
                columns = [d[0] for d in cur.description or []]
                return columns, [tuple(r) for r in rows]
        except psycopg2.errors.QueryCanceled:
            raise QueryTimeout(f"the query ran longer than {self.timeout_s:g} s and was stopped") from None
        except psycopg2.Error as exc:
            raise QueryFailed(f"the query failed: {str(exc).splitlines()[0]}") from None
        finally:
            con.rollback()


__all__ = [
    "DEFAULT_ROW_LIMIT",
    "DEFAULT_SCHEMAS",
    "DEFAULT_TIMEOUT_S",
    "QueryFailed",
    "QueryResult",
    "QueryTimeout",
    "SqlTool",
    "SqlToolError",
    "UnsafeQuery",
    "check_with_sqlglot",
    "check_with_tokenizer",
]
