"""Configuration errors are not findings (issue 9, item 4): exit 3 with the cause and the fix."""

from __future__ import annotations

import pytest

from conformance.core.model import Case, Exchange, TransportError
from conformance.core.profile import Profile
from conformance.inputs import CaseBuilder, Users
from conformance.run.misconfig import FirstAnswerGuard, TargetMisconfigured, misconfiguration

CASE = CaseBuilder(users=Users(12345, 99, None), profile=Profile()).case()


def _failed(
    kind: TransportError, detail: str, url: str = "https://api.example.test/v1/user/login_token"
) -> Exchange:
    return Exchange(case=CASE, sent_at=0.0, elapsed=0.0, error=kind, error_detail=detail, url=url)


@pytest.mark.parametrize(
    ("kind", "detail", "hint"),
    [
        (TransportError.CONNECT, "ConnectError: [Errno -2] Name or service not known", "(DNS)"),
        (TransportError.CONNECT, "ConnectError: [Errno 111] Connection refused", "http:// vs https://"),
        (
            TransportError.TLS,
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate",
            "--ca-bundle",
        ),
        (TransportError.TLS, "ConnectError: [SSL: WRONG_VERSION_NUMBER] wrong version number", "use http://"),
    ],
)
def test_configuration_failures_name_the_fix(kind: TransportError, detail: str, hint: str) -> None:
    cause = misconfiguration(_failed(kind, detail))
    assert cause is not None and hint in cause and "\n" not in cause


def test_a_timeout_is_a_finding_not_configuration() -> None:
    assert misconfiguration(_failed(TransportError.TIMEOUT, "no complete response")) is None


class _Scripted:
    def __init__(self, *exchanges: Exchange) -> None:
        self.exchanges = list(exchanges)

    def send(self, case: Case) -> Exchange:
        return self.exchanges.pop(0)


def test_after_the_first_answer_transport_errors_are_findings_again() -> None:
    tls = _failed(TransportError.TLS, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: expired")
    answer = Exchange(case=CASE, sent_at=0.0, elapsed=0.0, status=200)
    guard = FirstAnswerGuard(_Scripted(answer, tls))
    assert guard.send(CASE) is answer
    assert guard.send(CASE) is tls  # judged by the checks, not a configuration error
    with pytest.raises(TargetMisconfigured, match="--ca-bundle"):
        FirstAnswerGuard(_Scripted(tls)).send(CASE)
