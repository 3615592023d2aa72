"""``cro webhook serve``: the WhatsApp Cloud API webhook receiver, production's entry point for events."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

app = typer.Typer(help="The WhatsApp webhook receiver.", no_args_is_help=True)


@app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option(help="Interface to bind; put TLS and a public name in front of it.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8081,
) -> None:
    """Verify Meta's handshake and every POST's X-Hub-Signature-256, append bodies to the landing area, answer 200.

    Needs WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN; lands in CRO_WHATSAPP_LANDING_DIR.
    """
    import uvicorn

    from integrations.whatsapp import LandingArea
    from integrations.whatsapp.receiver import create_app
    from orchestration.settings import SettingsError, load_settings, read_secret

    settings = load_settings()
    try:
        secret, token = read_secret("WHATSAPP_APP_SECRET"), read_secret("WHATSAPP_VERIFY_TOKEN")
    except SettingsError as exc:
        typer.echo(f"cannot start the receiver: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    # a server started from a non-interactive shell may inherit ignored signals; make stop requests work
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    receiver = create_app(LandingArea(settings.whatsapp_landing_dir), app_secret=secret, verify_token=token)
    typer.echo(f"landing WhatsApp webhooks in {settings.whatsapp_landing_dir}")
    uvicorn.run(receiver, host=host, port=port, log_level="info", access_log=False)
