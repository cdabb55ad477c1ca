"""xmldoc: structural limits refuse a costly shape before parsing and before XSD validation."""

from __future__ import annotations

import pytest

from conformance import schema, xmldoc
from conformance.profile import Profile, profile_from_mapping
from conformance.xmldoc import DEFAULT_LIMITS, Limits

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
    errors = schema.validation_errors("user_response.xsd", root, limits=Limits(max_attributes=10))
    assert errors == ["structural limit: 80 attributes on <user_response> (at most 10)"]


def test_a_small_body_is_validated_once_and_answers_like_a_fresh_validation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bytes] = []
    real = schema.validation_errors

    def counted(name: str, root: object, **kwargs: object) -> list[str]:
        calls.append(name.encode())
        return real(name, root, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(schema, "_remembered", {})
    monkeypatch.setattr(schema, "validation_errors", counted)
    invalid = VALID.replace("<status>", "<status>x").encode()  # a different body, invalid
    for body in (VALID.encode(), invalid):
        root = xmldoc.parse(body).root
        assert root is not None
        first = schema.body_validation_errors("user_response.xsd", body, root)
        first.append("changed by the caller")  # the remembered answer is not the caller's list
        again = schema.body_validation_errors("user_response.xsd", body, root)
        assert again == real("user_response.xsd", root)
    assert len(calls) == 2  # once per distinct body
    big = VALID.replace("</message>", " " * schema.CACHED_BODY_BYTES + "</message>").encode()
    big_root = xmldoc.parse(big).root
    assert big_root is not None
    schema.body_validation_errors("user_response.xsd", big, big_root)
    schema.body_validation_errors("user_response.xsd", big, big_root)
    assert len(calls) == 4  # a large body is validated every time (not kept in memory)
