"""`conformance serve`, `conformance faults`: the reference target and its fault catalogue."""

from __future__ import annotations

import threading

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port)."
)
@click.option(
    "--fault", default=None, metavar="NAME", help="Misbehave on purpose (see `conformance faults`)."
)
def serve_command(host: str, port: int, fault: str | None) -> None:
    """Run the embedded reference target in the foreground until Ctrl-C."""
    from conformance import reference

    try:
        # It serves its own QR images: a live run judges them (LT-QRCODE-IMAGE) by default.
        server = reference.ReferenceServer(fault=fault, host=host, port=port, serve_qrcodes=True)
        server.start()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}; try --port 0") from None
    click.echo(f"reference target listening at {server.endpoint}" + (f" with fault {fault}" if fault else ""))
    click.echo(
        f"  api key (in scope: users {reference.REFERENCE_USER_ID}, {reference.REFERENCE_SECOND_USER_ID}): "
        f"{reference.REFERENCE_API_KEY}"
    )
    click.echo(f"  foreign user (exists, outside that key's scope): {reference.REFERENCE_FOREIGN_USER_ID}")
    click.echo(f"  unknown user: {reference.REFERENCE_UNKNOWN_USER_ID}")
    click.echo("  Ctrl-C stops it.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@click.command("faults")
def faults_command() -> None:
    """List the reference target's faults and the requirements each must fail."""
    from conformance.reference import faults_markdown

    click.echo(faults_markdown())
