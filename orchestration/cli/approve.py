"""``cro approve``: approve a campaign draft (who and when are recorded); nothing is sent without it."""

from __future__ import annotations

from typing import Annotated

import typer


def approve(
    campaign_id: Annotated[str | None, typer.Argument(help="The draft's campaign_id (see --list).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who approves (recorded with the approval).")] = None,
    version: Annotated[str | None, typer.Option(help="The version to approve (default: the newest draft).")] = None,
    note: Annotated[str, typer.Option(help="A note kept with the approval.")] = "",
    list_: Annotated[bool, typer.Option("--list", help="List the drafts waiting for approval.")] = False,
    ids: Annotated[bool, typer.Option("--ids", help="With --list: only the campaign ids, one a line.")] = False,
    send_now: Annotated[
        bool, typer.Option("--send-now", help="Run send_campaign now instead of waiting for the approval sensor.")
    ] = False,
) -> None:
    """Approve a campaign draft version; the approval sensor (or --send-now) then sends it through the outbox."""
    from rich.console import Console
    from rich.table import Table

    from orchestration.approvals import ApprovalError, pending
    from orchestration.approvals import approve as record_approval
    from orchestration.settings import load_settings
    from orchestration.warehouse import Warehouse

    console = Console()
    store = Warehouse(load_settings().warehouse_url)
    if list_ or campaign_id is None:
        drafts = pending(store)
        if ids:
            for d in drafts:
                typer.echo(d["campaign_id"])
            return
        if not drafts:
            console.print("No drafts waiting for approval (the agents propose them: cro materialize 'group:agents').")
            return
        table = Table(title="campaign drafts waiting for approval")
        for column in ("campaign_id", "version", "segment", "channel", "audience", "send at (UTC)", "budget"):
            table.add_column(column)
        for d in drafts:
            table.add_row(
                str(d["campaign_id"]),
                str(d["version"]),
                str(d["segment"]),
                str(d["channel"]),
                str(d["audience_size"]),
                f"{d['schedule_at']:%Y-%m-%d %H:%M}",
                f"R$ {float(d['budget_brl']):,.2f}",
            )
        console.print(table)
        console.print("Approve one with: cro approve CAMPAIGN_ID --by NAME")
        return
    try:
        approval = record_approval(store, campaign_id, approved_by=by or "", version=version, note=note)
    except ApprovalError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(code=2) from exc
    console.print(
        f"[green]approved[/] {approval.campaign_id} version {approval.version} by {approval.approved_by} "
        f"at {approval.approved_at:%Y-%m-%d %H:%M} UTC"
    )
    if not send_now:
        console.print(
            "campaign_approval_sensor launches send_campaign for it (turn it on under Automation in the UI), "
            f"or send now: cro approve {approval.campaign_id} --version {approval.version} --by {approval.approved_by} "
            "--send-now"
        )
        return
    from orchestration.cli.playbook import execute_job

    which = {"campaign_id": approval.campaign_id, "version": approval.version}
    launched = execute_job(
        "send_campaign",
        {"ops": {"deliver_campaign": {"config": which}}},
        console=console,
        tags={"cro/campaign": approval.campaign_id, "cro/version": approval.version},
    )
    summary = ", ".join(
        f"{k} {launched.metadata[k]}"
        for k in ("audience", "sent", "dry_run", "suppressed", "failed_permanent", "failed_retryable", "unknown")
        if k in launched.metadata
    )
    console.print(summary)
    if not launched.success:
        raise typer.Exit(code=1)
