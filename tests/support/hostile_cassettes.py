"""Hostile cassette files: texts a reader must refuse before building anything, and the words it uses."""

from __future__ import annotations

from conformance.cassettes.format import MAX_NESTING

FILE = "test_x.py__test_y-0000000000.yaml"
HEADER = (
    "format: 1\nname: n\nheader:\n  target: http://127.0.0.1:1/v1/user/login_token\n  suite_version: '1'\n"
    "  profile: default\n  recorded_at: '2026-01-01T00:00:00+00:00'\n  seed: {seed}\n  max_examples: 5\n"
    "  user_id: 1\n  unknown_user_id: 2\n  foreign_user_id: null\n"
)
ALIAS_BOMB = (
    "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    + "format: 1\ndigest: x\n"
)
CASES = {
    "alias_bomb": (ALIAS_BOMB, "anchors or aliases"),
    "recursive_alias": ("a: &a [*a]\nformat: 1\n", "anchors or aliases"),
    "huge_integer": (HEADER.format(seed="7" * 5000), "a number of 5000 characters"),
    "deep_nesting": ("x: " + "[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5) + "\n", "nests deeper"),
}
