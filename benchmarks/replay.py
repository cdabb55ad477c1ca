"""Replay cost per request: this suite's indexed cassettes vs stock vcrpy matching vs a live loopback call.

Every number is measured through the same path the Transport uses (``httpx.Client.stream`` and a full
body read), in-process. Run with ``python -m benchmarks.replay``; prints a Markdown table and whether
the targets are met.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from conformance.cassettes import CassetteBook, CassetteHeader, cassette_file_name
from conformance.cassettes.format import Interaction, dump_cassette
from conformance.core.files import write_atomic
from conformance.core.model import API_KEY_PLACEHOLDER, Case, Expect

SIZES = (200, 1000, 5000)
SAMPLE = 200  # requests timed per measurement, spread evenly over the cassette
STOCK_SAMPLE = 20  # stock vcrpy scans the cassette per request: fewer requests keep the run short
REPEATS = 5  # the median of this many measurements is reported
TARGET_SPEEDUP_AT_1000 = 20.0
TARGET_FLATNESS = 1.5  # cost at 5000 / cost at 200
PATH = "/v1/user/login_token"
REPLAY_URL = "http://replay.invalid" + PATH
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
RESPONSE_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<user_response>\n  <status>200</status>\n'
    "  <message>The request has been successfully processed</message>\n  <user_id>12345</user_id>\n"
    "  <token>9f86d081884c7d659a2feaa0c55ad015</token>\n  <qrcode>https://qr.example/ab.png</qrcode>\n"
    "  <expire>1700000060</expire>\n</user_response>\n"
).encode("ascii")
RESPONSE_HEADERS = [("content-type", "application/xml"), ("content-length", str(len(RESPONSE_BODY)))]


def _body(number: int) -> bytes:
    form = (("api_key", API_KEY_PLACEHOLDER), ("user_id", str(10_000 + number)), ("token_expire", "60"))
    return Case("bench", form, Expect.EITHER, "LT-INPUT-EXPIRE-VALID").body(api_key=API_KEY_PLACEHOLDER)


def _sample(size: int, count: int) -> list[int]:
    return [round(i * (size - 1) / max(count - 1, 1)) for i in range(count)]


def _time_requests(client: httpx.Client, url: str, numbers: list[int]) -> float:
    gc.collect()
    started = time.perf_counter()
    for number in numbers:
        with client.stream("POST", url, content=_body(number), headers=FORM_HEADERS) as response:
            for _ in response.iter_bytes():
                pass
    return (time.perf_counter() - started) / len(numbers)


def _median(measure: Callable[[], float]) -> float:
    measure()  # warm-up
    return statistics.median(measure() for _ in range(REPEATS))


def _write_suite_cassette(directory: Path, size: int) -> str:
    name = f"bench.py::replay_{size}"
    interactions = [
        Interaction(
            "POST", PATH, _body(n), 1_700_000_000.0 + n, 0.001, 200, "OK", RESPONSE_HEADERS, RESPONSE_BODY
        )
        for n in range(size)
    ]
    header = CassetteHeader("http://127.0.0.1:1", "bench", "default", "2025-01-01T00:00Z", 0, 25, 1, 2, None)
    write_atomic(directory / cassette_file_name(name), dump_cassette(name, header, interactions))
    return name


def _write_stock_cassette(directory: Path, size: int) -> Path:
    from vcr.request import Request
    from vcr.serialize import serialize
    from vcr.serializers import yamlserializer

    requests = [Request("POST", REPLAY_URL, _body(n), FORM_HEADERS) for n in range(size)]
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {name: [value] for name, value in RESPONSE_HEADERS},
        "body": {"string": RESPONSE_BODY},
    }
    path = directory / f"stock_{size}.yaml"
    path.write_text(serialize({"requests": requests, "responses": [response] * size}, yamlserializer))
    return path


def suite_replay(directory: Path, size: int) -> float:
    """Seconds per request replayed by CassetteBook from a cassette of ``size`` interactions."""
    name = _write_suite_cassette(directory, size)
    book = CassetteBook(directory, mode="replay")
    numbers = _sample(size, SAMPLE)

    def measure() -> float:
        with httpx.Client(transport=book.transport()) as client, book.use(name):
            return _time_requests(client, REPLAY_URL, numbers)

    return _median(measure)


def stock_replay(directory: Path, size: int) -> float:
    """Seconds per request replayed by stock vcrpy (match_on method, path, body) from the same cassette."""
    import vcr

    path = _write_stock_cassette(directory, size)
    recorder = vcr.VCR(record_mode="none", match_on=["method", "path", "body"])
    numbers = _sample(size, STOCK_SAMPLE)

    def measure() -> float:
        cassette: AbstractContextManager[Any] = recorder.use_cassette(str(path))
        with httpx.Client() as client, cassette:
            return _time_requests(client, REPLAY_URL, numbers)

    return _median(measure)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the live call's best case
    disable_nagle_algorithm = True  # else headers and body in two writes meet delayed ACKs (40 ms)

    def log_message(self, *args: Any) -> None:  # noqa: ARG002 - http.server calls it with arguments
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        for name, value in RESPONSE_HEADERS:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(RESPONSE_BODY)


@contextmanager
def _loopback() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5.0)


def live_loopback() -> float:
    """Seconds per request to a loopback http.server answering the same request."""
    with _loopback() as url, httpx.Client() as client:
        return _median(lambda: _time_requests(client, url, list(range(SAMPLE))))


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    """Measure and print the table and the pass/fail of each target."""
    with tempfile.TemporaryDirectory() as temp:
        ours: dict[int, float] = {}
        stock: dict[int, float] = {}
        for size in SIZES:
            directory = Path(temp) / str(size)
            directory.mkdir()
            ours[size] = suite_replay(directory, size)
            stock[size] = stock_replay(directory, size)
        live = live_loopback()
    print("| interactions | this suite's replay (µs/request) | stock vcrpy (µs/request) | speed-up |")
    print("|---:|---:|---:|---:|")
    for size in SIZES:
        print(
            f"| {size} | {ours[size] * 1e6:.0f} | {stock[size] * 1e6:.0f} | {stock[size] / ours[size]:.0f}x |"
        )
    print(f"| live loopback http.server (keep-alive) | {live * 1e6:.0f} | | |")
    print()
    speedup = stock[1000] / ours[1000]
    flatness = ours[5000] / ours[200]
    print(
        f"- speed-up over stock vcrpy at 1000: {speedup:.0f}x (target >= {TARGET_SPEEDUP_AT_1000:.0f}x): "
        f"{_verdict(speedup >= TARGET_SPEEDUP_AT_1000)}"
    )
    print(
        f"- cost at 5000 / cost at 200: {flatness:.2f} (target <= {TARGET_FLATNESS}): "
        f"{_verdict(flatness <= TARGET_FLATNESS)}"
    )
    slowest = max(ours.values())
    verdict = _verdict(slowest < live)
    print(f"- replay vs live loopback: {live / slowest:.1f}x faster at worst (target > 1x): {verdict}")


if __name__ == "__main__":
    main()
