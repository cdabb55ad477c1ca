"""The benchmark figures the README and docs quote agree with their one copy, benchmarks/RESULTS.md."""

from __future__ import annotations

import re

from tests.support import ROOT

RESULTS = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
CASSETTES_DOC = (ROOT / "docs" / "cassettes.md").read_text(encoding="utf-8")
SAFETY_DOC = (ROOT / "docs" / "safety.md").read_text(encoding="utf-8")


def between(text: str, begin: str, end: str) -> str:
    assert text.count(begin) == 1 and text.count(end) == 1, (begin, end)
    return text.split(begin, 1)[1].split(end, 1)[0]


def section(name: str) -> str:
    """One `## benchmarks.NAME` section of RESULTS.md, without its heading."""
    assert RESULTS.count(f"## benchmarks.{name}\n") == 1, name
    return (RESULTS + "\n## ").split(f"## benchmarks.{name}\n", 1)[1].split("\n## ", 1)[0].strip()


def one(pattern: str, text: str) -> str:
    found = re.findall(pattern, text, re.MULTILINE)
    assert len(found) == 1, (pattern, found)
    return str(found[0])


def test_the_readme_block_is_the_results_file() -> None:
    block = between(README, "<!-- bench:begin -->\n```\n", "```\n<!-- bench:end -->")
    assert block == RESULTS


def test_the_cassettes_doc_quotes_the_replay_section() -> None:
    block = between(CASSETTES_DOC, "<!-- bench-replay:begin -->\n", "<!-- bench-replay:end -->")
    assert block.strip() == section("replay")


def test_the_safety_doc_quotes_the_memory_section() -> None:
    block = between(SAFETY_DOC, "<!-- bench-memory:begin -->\n```\n", "```\n<!-- bench-memory:end -->")
    assert block.strip() == section("memory")


def test_the_readme_prose_quotes_the_results() -> None:
    prose = README.split("<!-- bench:end -->", 1)[1].split("\n## ", 1)[0]
    replay = section("replay")
    assert one(r"(\d+)x faster than\s+stock vcrpy", prose) == one(r"at 1000: (\d+)x", replay)
    assert one(r"([\d.]+)x faster than a live loopback", prose) == one(r"([\d.]+)x faster at worst", replay)
    memory = section("memory")
    hostile = re.findall(r"^(?:huge_body|gzip_bomb) \(fresh dir\).*?([\d.]+)\s*$", memory, re.MULTILINE)
    assert hostile and one(r"peaks at (\d+) MiB", prose) == f"{max(float(m) for m in hostile):.0f}"
    stall = one(r"^slow \(fresh dir\)\s+\d+\s+\d+\s+\w+\s+([\d.]+)", memory)
    assert one(r"in (\d+) s\b", prose) == f"{float(stall):.0f}"


def test_the_readme_quotes_the_judging_median() -> None:
    prose = README.split("<!-- bench:end -->", 1)[1].split("\n## ", 1)[0]
    judging = section("judging")
    median = one(r"median judging cost per response: ([\d.]+) ms", judging)
    assert one(r"Judging one response costs ([\d.]+) ms", prose) == median
