"""The benchmark figures the README and docs quote agree with their one copy, benchmarks/RESULTS.md."""

from __future__ import annotations

import re

from tests.support import ROOT

RESULTS = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The README's copy of RESULTS.md ends here (conformance catalogue --write keeps the copy whole).
BENCH_END = "<!-- END generated: benchmarks -->"


def section(name: str) -> str:
    """One `## benchmarks.NAME` section of RESULTS.md, without its heading."""
    assert RESULTS.count(f"## benchmarks.{name}\n") == 1, name
    return (RESULTS + "\n## ").split(f"## benchmarks.{name}\n", 1)[1].split("\n## ", 1)[0].strip()


def one(pattern: str, text: str) -> str:
    found = re.findall(pattern, text, re.MULTILINE)
    assert len(found) == 1, (pattern, found)
    return str(found[0])


def test_the_readme_prose_quotes_the_results() -> None:
    prose = README.split(BENCH_END, 1)[1].split("\n## ", 1)[0]
    replay = section("replay")
    assert one(r"(\d+)x faster than\s+stock vcrpy", prose) == one(r"at 1000: (\d+)x", replay)
    assert one(r"([\d.]+)x faster than a live loopback", prose) == one(r"([\d.]+)x faster at worst", replay)
    memory = section("memory")
    hostile = re.findall(r"^(?:huge_body|gzip_bomb) \(fresh dir\).*?([\d.]+)\s*$", memory, re.MULTILINE)
    assert hostile and one(r"peaks at (\d+) MiB", prose) == f"{max(float(m) for m in hostile):.0f}"
    stall = one(r"^slow \(fresh dir\)\s+\d+\s+\d+\s+\w+\s+([\d.]+)", memory)
    assert one(r"in (\d+) s\b", prose) == f"{float(stall):.0f}"


def test_the_readme_quotes_the_judging_median() -> None:
    prose = README.split(BENCH_END, 1)[1].split("\n## ", 1)[0]
    judging = section("judging")
    median = one(r"median judging cost per response: ([\d.]+) ms", judging)
    assert one(r"Judging one response costs ([\d.]+) ms", prose) == median
