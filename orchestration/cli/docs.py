"""``cro docs``: serve the dbt docs site (model lineage, column docs, the warehouse catalog)."""

from __future__ import annotations

import functools
import http.server
import signal
from typing import Annotated

import typer


def docs(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    generate: Annotated[
        bool, typer.Option(help="Regenerate from the warehouse first (default: only when the site is missing).")
    ] = False,
) -> None:
    """Serve the dbt docs site that the `dbt_docs` asset generates (generating it first if missing)."""
    from assets.dbt.docs import generate_docs
    from orchestration.resources import dbt_cli_resource
    from orchestration.settings import load_settings

    settings = load_settings()
    site = settings.dbt_docs_dir
    if generate or not (site / "index.html").exists():
        typer.echo(f"generating dbt docs from {settings.warehouse_kind} into {site} …")
        try:
            generate_docs(dbt_cli_resource(), settings.warehouse_url, site)
        except RuntimeError as exc:
            typer.echo(f"{exc}. Has the warehouse been built? Run: cro materialize '*'", err=True)
            raise typer.Exit(code=1) from exc
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    typer.echo(f"dbt docs at http://{host}:{port}/ (Ctrl+C stops)")
    server.serve_forever()
