"""Configuration errors are not findings: until the target has answered once, a TLS, certificate, scheme,
DNS or connection failure is the user's configuration (exit 3, one line naming the cause and the fix).

After the first complete answer the same errors are findings about the target, as before.
"""

from __future__ import annotations

import re
import socket
import ssl
from urllib.parse import urlsplit

from conformance.core.errors import EXIT_UNREACHABLE, ConformanceError
from conformance.core.model import Case, Exchange, TransportError
from conformance.run.engine import Sender

PROBE_SECONDS = 3.0
CERT_MARKERS = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed")
DNS_MARKERS = (
    "Name or service not known",
    "nodename nor servname",
    "Temporary failure in name resolution",
    "No address associated",
    "getaddrinfo",
)
REFUSED_MARKERS = ("Connection refused", "Errno 111", "Errno 61")
_SSL_REASON = re.compile(r"\[SSL: ([A-Z_]+)\]")


class TargetMisconfigured(ConformanceError):
    """The target cannot be talked to as configured; the message is one line with the fix."""

    exit_code = EXIT_UNREACHABLE


def _where(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return parts.hostname or "", parts.port or (443 if scheme == "https" else 80), scheme


def speaks_tls(host: str, port: int, *, timeout: float = PROBE_SECONDS) -> bool:
    """True when a TLS handshake (certificate not checked: only the protocol is probed) succeeds."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except (OSError, ValueError):
        return False


def misconfiguration(exchange: Exchange) -> str | None:
    """The one-line cause and fix when an unanswered exchange failed for a configuration reason."""
    if exchange.error is None or exchange.status is not None:
        return None
    host, port, scheme = _where(exchange.url)
    detail = exchange.error_detail or exchange.error.value
    if exchange.error is TransportError.TLS:
        if any(marker in detail for marker in CERT_MARKERS):
            why = detail.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip(" :")
            return (
                f"the TLS certificate of {host} is not trusted ({why or 'verification failed'}); "
                "pass --ca-bundle FILE with the CA that signed it"
            )
        reason = _SSL_REASON.search(detail)
        return (
            f"TLS handshake with {host}:{port} failed ({reason.group(1) if reason else detail[:80]}); "
            "if the target speaks plain http use http:// (and --allow-http for a non-loopback host), "
            "else check the port"
        )
    if exchange.error is TransportError.CONNECT:
        if any(marker in detail for marker in DNS_MARKERS):
            return f"cannot resolve host {host!r} (DNS); check the host name in --target"
        if any(marker in detail for marker in REFUSED_MARKERS):
            return (
                f"connection to {host}:{port} refused: nothing listens there; check the port and "
                "http:// vs https:// in --target, and that the service is up"
            )
        return f"cannot connect to {host}:{port} ({detail[:80]}); check --target"
    if (
        exchange.error in (TransportError.RESET, TransportError.PROTOCOL)
        and scheme == "http"
        and speaks_tls(host, port)
    ):
        return f"{host}:{port} speaks TLS (https), not plain http: use https:// in --target"
    return None


class FirstAnswerGuard:
    """A Sender around the transport: until one complete response, a configuration error ends the run."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.answered = False

    def send(self, case: Case) -> Exchange:
        """Send; raise TargetMisconfigured when nothing has answered yet and the failure is configuration."""
        exchange = self.sender.send(case)
        if self.answered:
            return exchange
        if exchange.error is None:
            self.answered = True
            return exchange
        cause = misconfiguration(exchange)
        if cause is not None:
            raise TargetMisconfigured(f"target not usable as configured: {cause}")
        return exchange
