"""Exchanges from the check case files (tests/unit/checks/cases/): a case's request and response, by hand."""

from __future__ import annotations

import email.utils
from typing import Any

from conformance.core.model import Case, Exchange, Expect

API_KEY = "CANARY-KEY-0123456789"


def exchange_from(data: dict[str, Any], *, sequence: int = 1) -> Exchange:
    """An Exchange from a case file's case and response sections."""
    case_data = data["case"]
    case = Case(
        label=case_data["label"],
        form=(("api_key", "__API_KEY_REDACTED__"), ("user_id", "12345")),
        expect=Expect(case_data["expect"]),
        requirement=case_data["requirement"],
        user_id=case_data.get("user_id"),
        token_expire=case_data.get("token_expire"),
        method=case_data.get("method", "POST"),
        path_variant=case_data.get("path_variant", ""),
        form_in_query=case_data.get("form_in_query", False),
        alternate_identity=case_data.get("alternate_identity", False),
        spelling=case_data.get("spelling", ""),
    )
    response = data["response"]
    date = response["headers"].get("date")
    sent_at = email.utils.parsedate_to_datetime(date).timestamp() if date else 1_795_824_000.0
    return Exchange(
        case=case,
        sent_at=sent_at,
        elapsed=0.05,
        status=response["status"],
        headers=tuple((k.lower(), str(v)) for k, v in response["headers"].items()),
        body=response["body"].encode("utf-8"),
        url=case_data.get("url", "http://127.0.0.1:9/v1/user/login_token"),
        sequence=sequence,
    )
