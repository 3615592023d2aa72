"""The environment dbt's ``profiles.yml`` reads, derived from the one warehouse URL.

``CRO_WAREHOUSE_URL`` stays the single source of truth: ``duckdb:///path`` selects the ``duckdb``
target, ``postgresql://user:password@host:port/db`` the ``postgres`` one.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def dbt_environment(warehouse_url: str, threads: int | None = None) -> dict[str, str]:
    if warehouse_url.startswith("duckdb:///"):
        env = {"CRO_DBT_TARGET": "duckdb", "CRO_DBT_DUCKDB_PATH": warehouse_url.removeprefix("duckdb:///")}
    elif warehouse_url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(warehouse_url)
        env = {
            "CRO_DBT_TARGET": "postgres",
            "CRO_PG_HOST": parts.hostname or "localhost",
            "CRO_PG_PORT": str(parts.port or 5432),
            "CRO_PG_USER": unquote(parts.username or "postgres"),
            "CRO_PG_PASSWORD": unquote(parts.password or ""),
            "CRO_PG_DATABASE": parts.path.lstrip("/") or "postgres",
        }
    else:
        raise ValueError(f"unsupported warehouse URL {warehouse_url!r}: expected duckdb:///… or postgresql://…")
    if threads is not None:
        env["CRO_DBT_THREADS"] = str(threads)
    return env


if __name__ == "__main__":
    # `make install` prepares the dbt manifest with the environment runs will have, so dbt's
    # partial parsing (keyed on the connection settings) is reused instead of re-parsing each run.
    from orchestration.settings import load_settings

    settings = load_settings()
    print(" ".join(f"{name}={value}" for name, value in dbt_environment(settings.warehouse_url).items()))
