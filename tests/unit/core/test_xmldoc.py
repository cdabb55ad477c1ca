"""xmldoc: structural limits refuse a costly shape before parsing and before XSD validation."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest

from conformance.core import schema, xmldoc
from conformance.core.profile import Profile, profile_from_mapping
from conformance.core.xmldoc import DEFAULT_LIMITS, Limits

VALID = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<user_response><status>200</status><message>ok</message>'
    "<user_id>12345</user_id><token>9f86d081884c7d659a2feaa0c55ad015</token>"
    "<qrcode>https://qr.example.com/a.png</qrcode><expire>1795827600</expire></user_response>"
)


def _with_attributes(count: int, *, separator: str = '="1"') -> str:
    attributes = "".join(f" a{n}{separator}" for n in range(count))
    return VALID.replace("<user_response>", f"<user_response{attributes}>")


SHAPES = {
    "attributes": (_with_attributes(DEFAULT_LIMITS.max_attributes + 1), "attributes on one element"),
    "spaced attributes": (
        _with_attributes(DEFAULT_LIMITS.max_attributes + 1, separator=" = '1'"),
        "attributes on one element",
    ),
    "elements": ("<r>" + "<a/>" * (DEFAULT_LIMITS.max_elements + 1) + "</r>", "elements"),
    "markup tags": ("<r>" + "<a/>" * (3 * DEFAULT_LIMITS.max_elements) + "</r>", "markup tags"),
    "depth": ("<a>" * (DEFAULT_LIMITS.max_depth + 1) + "</a>" * (DEFAULT_LIMITS.max_depth + 1), "deeper"),
    "attribute size": (
        VALID.replace("<status>", f'<status x="{"v" * (DEFAULT_LIMITS.max_attribute_chars + 1)}">'),
        "attribute x",
    ),
    "text size": (VALID.replace(">ok<", f">{'t' * (DEFAULT_LIMITS.max_text_chars + 1)}<"), "a text of"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_a_shape_over_the_limits_is_refused(shape: str, codec: str) -> None:
    text, reason = SHAPES[shape]
    body = text.replace('encoding="UTF-8"', f'encoding="{codec.upper()}"').encode(codec)
    document = xmldoc.parse(body)
    assert document.root is None
    assert document.over_limit
    assert document.error is not None and reason in document.error


def test_a_real_user_response_is_far_inside_the_limits() -> None:
    document = xmldoc.parse(VALID.encode())
    assert document.root is not None and not document.over_limit


def test_the_profile_moves_the_limits() -> None:
    profile = profile_from_mapping({"max_attributes": 100}, origin="t", default_name="t")
    assert profile.limits == Limits(max_attributes=100)
    body = _with_attributes(80).encode()
    assert xmldoc.parse(body).over_limit
    assert not xmldoc.parse(body, limits=profile.limits).over_limit
    assert Profile().limits == DEFAULT_LIMITS


def test_validation_checks_the_structure_before_the_schema() -> None:
    root = xmldoc.parse(_with_attributes(80).encode(), limits=Limits(max_attributes=100)).root
    assert root is not None
    body = _with_attributes(80).encode()
    errors = schema.validation_errors("user_response.xsd", body, root, limits=Limits(max_attributes=10))
    assert errors == ["structural limit: 80 attributes on <user_response> (at most 10)"]


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies validated afresh from now on (an empty memory to start with)."""
    calls: list[bytes] = []
    real = schema.validation_errors

    def counted(name: str, body: bytes, root: object, **kwargs: object) -> list[str]:
        calls.append(body)
        return real(name, body, root, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(schema, "_remembered", OrderedDict())
    monkeypatch.setattr(schema, "validation_errors", counted)
    return calls


def _validate(body: bytes) -> list[str]:
    root = xmldoc.parse(body).root
    assert root is not None
    return schema.body_validation_errors("user_response.xsd", body, root)


def test_a_small_body_is_validated_once_and_answers_like_a_fresh_validation(validations: list[bytes]) -> None:
    invalid = VALID.replace("<status>", "<status>x").encode()  # a different body, invalid
    for body in (VALID.encode(), invalid):
        first = _validate(body)
        first.append("changed by the caller")  # the remembered answer is not the caller's list
        root = xmldoc.parse(body).root
        assert root is not None
        assert _validate(body) == schema.validation_errors("user_response.xsd", body, root)
    assert len(validations) == 4  # once per distinct body, and the two direct calls above
    big = VALID.replace("</message>", " " * schema.CACHED_BODY_BYTES + "</message>").encode()
    _validate(big)
    _validate(big)
    assert len(validations) == 6  # a large body is validated every time (not kept in memory)


def test_a_body_used_again_stays_remembered_while_many_others_come_and_go(
    validations: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "CACHED_BODIES", 4)
    refusal = VALID.encode()
    grants = [VALID.replace("12345", str(12345 + n)).encode() for n in range(1, 13)]
    # The grants of a run's start fill the memory; then refusals come between grants of their own.
    for body in [*grants[:6], *(b for grant in grants[6:] for b in (grant, refusal))]:
        _validate(body)
    assert validations.count(refusal) == 1  # most recently used: never dropped
    assert len(schema._remembered) == 4  # bounded: the oldest grants went


# -- two validators and the rules where they part (issue 21) ------------------------------------------

INDENTED = VALID.replace("<user_response>", "<user_response>\n    ").replace("</", "\n    </")


def _errors(text: str, name: str = "user_response.xsd") -> list[str]:
    body = text.encode()
    root = xmldoc.parse(body).root
    assert root is not None
    return schema.validation_errors(name, body, root)


def test_a_conforming_body_is_valid_for_both_validators() -> None:
    assert _errors(VALID) == []
    assert _errors(INDENTED.replace("\n    </user_response>", "\n</user_response>")) == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (VALID.replace(".png<", ".png%<"), "not an RFC 3986 URI reference"),
        (VALID.replace("a.png", "a%zz.png"), "not an RFC 3986 URI reference"),
        (VALID.replace("a.png", "a[1].png"), "not an RFC 3986 URI reference"),
        (VALID.replace("><", ">\u00a0\u00a0<", 1), "in element-only content"),
        (VALID.replace("<status>", "\u2003<status>"), "in element-only content"),
    ],
    ids=["stray percent", "bad percent escape", "brackets in path", "no-break space", "em space"],
)
def test_what_xmlschema_accepts_and_libxml2_refuses_is_invalid_naming_both_verdicts(
    text: str, rule: str
) -> None:
    errors = _errors(text)
    assert errors[0] == "xmlschema: valid"
    assert errors[1].startswith("libxml2: line ")
    assert "not a valid value" in errors[1] or "other than whitespace" in errors[1]
    assert errors[2].startswith("XSD rules: ") and rule in errors[2]


def test_a_uri_both_validators_accept_but_rfc_3986_refuses_is_invalid() -> None:
    errors = _errors(VALID.replace("a.png", "a b.png"))
    assert errors == [
        "xmlschema: valid",
        "libxml2: valid",
        "XSD rules: /user_response/qrcode: 'https://qr.example.com/a b.png' is not an RFC 3986 URI "
        "reference (xs:anyURI)",
    ]


@pytest.mark.parametrize(
    "uri",
    [
        "https://qr.example.com/a.png?x=1&amp;y=%20#frag",
        "https://user@[::1]:8443/qr/a.png",
        "urn:example:qr",
        "/relative/path.png",
        "",
        "  https://qr.example.com/padded.png\n",
    ],
)
def test_rfc_3986_uri_references_pass(uri: str) -> None:
    assert _errors(VALID.replace("https://qr.example.com/a.png", uri)) == []


def test_a_body_both_refuse_shows_both_reasons() -> None:
    errors = _errors(VALID.replace("<status>200", "<status>x"))
    assert [e.split(":", 1)[0] for e in errors] == ["xmlschema", "libxml2"]
    assert "positiveInteger" in errors[1]


def test_libxml2_never_loads_an_external_entity(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE user_response [<!ENTITY e SYSTEM "{secret.as_uri()}">]>'
        "<user_response><status>&e;</status></user_response>"
    ).encode()
    errors = schema.libxml2_errors("user_response.xsd", body)
    assert errors
    assert "SECRET-CONTENT" not in " ".join(errors)
