"""The ``cro`` command line: set-up, demo data, materialization and diagnostics."""

from __future__ import annotations

import typer

from orchestration.cli import (
    approve,
    ask,
    dbt,
    demo_data,
    docs,
    doctor,
    import_data,
    materialize,
    playbook,
    prod,
    run,
    webhook,
)

app = typer.Typer(
    name="cro",
    help="CRO AI Agent: revenue-operations data platform (demo company: +Pet).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.command("demo-data")(demo_data.demo_data)
app.command("ask")(ask.ask)
app.command("approve")(approve.approve)
app.command("run")(run.run)
app.command("run-playbook")(playbook.run_playbook)
app.command("materialize")(materialize.materialize)
app.command("doctor")(doctor.doctor)
app.command("docs")(docs.docs)
app.command("dbt", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(dbt.dbt)
app.add_typer(import_data.app, name="import")
app.add_typer(webhook.app, name="webhook")
app.add_typer(prod.app, name="prod")
