"""Each side-channel fault's promise, observed on the wire (tests/unit/reference/test_faults.py runs them)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlencode

import httpx

from conformance.reference import (
    REFERENCE_API_KEY,
    REFERENCE_FOREIGN_USER_ID,
    REFERENCE_UNKNOWN_USER_ID,
    REFERENCE_USER_ID,
    ReferenceServer,
)

FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}
WRONG_KEY = "wrong-key-0000"
IDLE = 2.5  # seconds a connection idles in the idle probes: past their 1 s margin
PAST = "Sat, 01 Jan 2000 00:00:00 GMT"
PAST_UNIX = 946684800


class Probe(Protocol):
    server: ReferenceServer
    client: httpx.Client


def post(
    p: Probe,
    *,
    client: httpx.Client | None = None,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> httpx.Response:
    """POST the valid form with ``fields`` overridden ("-" drops one), with extra ``headers``."""
    form = {"api_key": REFERENCE_API_KEY, "user_id": str(REFERENCE_USER_ID), "token_expire": "3600"} | fields
    body = urlencode([(k, v) for k, v in form.items() if v != "-"]).encode()
    return (client or p.client).post(p.server.endpoint, content=body, headers=FORM_TYPE | (headers or {}))


def expire_of(response: httpx.Response) -> int:
    """The <expire> of a grant."""
    assert response.status_code == 200, response.text
    return int(ET.fromstring(response.content).findtext("expire") or "0")


def probe_client_date(p: Probe) -> None:
    assert expire_of(post(p, headers={"Date": PAST})) == PAST_UNIX + 3600


def probe_session_cookie(p: Probe) -> None:
    cookie = post(p).headers.get("set-cookie", "").split(";")[0]
    assert "Secure" in post(p).headers.get("set-cookie", "")
    assert post(p, api_key=WRONG_KEY).status_code == 401
    assert post(p, api_key=WRONG_KEY, headers={"Cookie": cookie}).status_code == 200
    assert post(p, api_key="-", headers={"Cookie": cookie}).status_code == 200


def probe_forwarded_for(p: Probe) -> None:
    assert post(p, api_key=WRONG_KEY).status_code == 401
    assert post(p, api_key=WRONG_KEY, headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def probe_forwarded_scope(p: Probe) -> None:
    foreign = str(REFERENCE_FOREIGN_USER_ID)
    assert post(p, user_id=foreign).status_code == 403
    assert post(p, user_id=foreign, headers={"Forwarded": "for=10.0.0.1"}).status_code == 200


def probe_every_third_connection(p: Probe) -> None:
    statuses = []
    for _ in range(6):
        with httpx.Client(timeout=10.0) as fresh:
            statuses.append(post(p, client=fresh, user_id=str(REFERENCE_FOREIGN_USER_ID)).status_code)
    assert 200 in statuses and 403 in statuses, statuses


def probe_idle_expire(p: Probe) -> None:
    with httpx.Client(timeout=10.0) as client:
        post(p, client=client)
        time.sleep(IDLE)
        sent = int(time.time())
        assert expire_of(post(p, client=client)) < sent + 3600 - 1


def probe_wrong_key_tells(p: Probe) -> None:
    assert post(p, api_key=WRONG_KEY).status_code == 401
    assert post(p, api_key=WRONG_KEY, user_id=str(REFERENCE_UNKNOWN_USER_ID)).status_code == 404


def probe_wrong_key_slower(p: Probe) -> None:
    started = time.monotonic()
    post(p, api_key=WRONG_KEY)
    existing = time.monotonic() - started
    started = time.monotonic()
    post(p, api_key=WRONG_KEY, user_id=str(REFERENCE_UNKNOWN_USER_ID))
    unknown = time.monotonic() - started
    assert existing - unknown > 0.2, (existing, unknown)


def probe_tenant_named(p: Probe) -> None:
    response = post(p, user_id=str(REFERENCE_FOREIGN_USER_ID))
    assert response.status_code == 403
    assert b"tenant globex-0002" in response.content


SIDE_CHANNEL_PROBES: dict[str, Callable[[Probe], object]] = {
    "expire_from_client_date": probe_client_date,
    "session_cookie_stands_in_for_key": probe_session_cookie,
    "forwarded_for_loopback_skips_key": probe_forwarded_for,
    "forwarded_internal_skips_scope": probe_forwarded_scope,
    "every_third_connection_unscoped": probe_every_third_connection,
    "expire_from_connection_idle_start": probe_idle_expire,
    "expire_stamped_at_accept": probe_idle_expire,
    "expire_from_cached_clock": probe_idle_expire,
    "wrong_key_tells_unknown_users": probe_wrong_key_tells,
    "wrong_key_slower_for_existing_users": probe_wrong_key_slower,
    "foreign_refusal_names_tenant": probe_tenant_named,
}
