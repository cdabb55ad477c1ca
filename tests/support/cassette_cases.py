"""Cassette material made by hand: a test's name, a valid form, a case of it, a header, a grant's token."""

from __future__ import annotations

import re

from conformance.cassettes import CassetteHeader
from conformance.core.model import API_KEY_PLACEHOLDER, Case, Expect

TEST_NAME = "test_token_expire.py::test_boundaries"
Form = tuple[tuple[str, str], ...]
VALID: Form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", "12345"), ("token_expire", "60"))


def header(target: str = "http://127.0.0.1:1/v1/user/login_token", *, seed: int = 7) -> CassetteHeader:
    return CassetteHeader(target, "0.1.0", "default", "2025-11-28T00:00:00Z", seed, 25, 12345, 999, None)


def case(form: Form) -> Case:
    return Case("case", form, Expect.EITHER, "LT-INPUT-EXPIRE-VALID")


def token_of(body: bytes) -> str:
    match = re.search(rb"<token>([^<]*)</token>", body)
    assert match is not None
    return match.group(1).decode()
