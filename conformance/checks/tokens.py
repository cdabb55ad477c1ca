"""Token checks: present, never repeated, and unpredictable."""

from __future__ import annotations

import itertools
import math
import string

from conformance.checks import check
from conformance.checks._base import CheckContext, Subject, date_seconds
from conformance.core.entropy import P_THRESHOLD, analyse
from conformance.core.model import MAX_DIGITS, CheckFailure, plain_integer
from conformance.core.prediction import TIME_SEEDED_TOKENS, time_seeded

# Consecutive tokens whose values differ by less than this are sequential (a counter or a clock).
SEQUENTIAL_DELTA = 2**32
# Positional analysis needs this many earlier tokens of the same length before it judges.
POSITIONAL_SAMPLE = 7
_ALPHABETS = (
    (set(string.digits), 10),
    (set(string.digits + "abcdef"), 16),
    (set(string.digits + "ABCDEF"), 16),
    (set(string.digits + string.ascii_lowercase), 36),
    (set(string.digits + string.ascii_uppercase), 36),
    (set(string.digits + string.ascii_letters), 62),
    (set(string.digits + string.ascii_letters + "-_+/="), 64),
)


def alphabet_size(token: str) -> int:
    """The size of the smallest usual alphabet that spells ``token`` (printable ASCII otherwise)."""
    chars = set(token)
    return next((size for alphabet, size in _ALPHABETS if chars <= alphabet), 95)


def estimated_bits(token: str) -> float:
    """Entropy bound judged from length and alphabet."""
    return len(token) * math.log2(alphabet_size(token))


def _as_number(token: str) -> tuple[int, int] | None:
    size = alphabet_size(token)
    # int() refuses very long non-power-of-two spellings; no real token is that long.
    return (int(token, size), size) if size <= 36 and len(token) <= MAX_DIGITS else None


def arithmetic_relation(token: str, previous: list[str]) -> str | None:
    """Why ``token`` follows from the last tokens (a small step, or the same step twice), else None."""
    numbers = [_as_number(t) for t in [*previous, token] if len(t) == len(token)]
    bases = {n[1] if n else None for n in numbers}
    if len(numbers) < 2 or len(bases) != 1 or None in bases:
        return None
    values = [n[0] for n in numbers if n is not None]
    steps = [b - a for a, b in itertools.pairwise(values)]
    if abs(steps[-1]) < SEQUENTIAL_DELTA:
        return f"differs from the previous token by {steps[-1]}"
    if len(steps) >= 2 and steps[-1] == steps[-2]:
        return f"the same step ({steps[-1]:#x}) from each of the previous tokens"
    return None


@check(serves=("LT-TOKEN-PRESENT",))
def token_present(subject: Subject, ctx: CheckContext) -> str | None:
    """A 2xx response carries a non-empty <token>."""
    if not (subject.decided and 200 <= subject.status < 300):
        return None
    if not subject.token:
        shown = "no <token> element" if subject.document.field("token") is None else "an empty <token>"
        raise CheckFailure("LT-TOKEN-PRESENT", "success without a token", "a non-empty <token>", shown)
    return "LT-TOKEN-PRESENT"


@check(serves=("LT-TOKEN-UNIQUE",))
def token_unique(subject: Subject, ctx: CheckContext) -> str | None:
    """No token is issued twice within a run: as a grant's <token>, or handed out again in any other field
    of a grant (a header, the message, the QR code URL of the next grant)."""
    token = subject.token
    if not subject.issued or not token:
        return None
    first = ctx.tokens.first_seen.get(token)  # the run's state: the exchanges before this one
    if first is not None and first != subject.exchange.sequence:
        raise CheckFailure(
            "LT-TOKEN-UNIQUE",
            "token issued twice",
            "a token never issued before in this run",
            f"the token first issued in request #{first}",
        )
    book = ctx.tokens.literal_book()
    found = (*book.find(subject.head), *book.find_bytes(subject.exchange.body))
    earlier = [secret.value for secret in found if secret.value != token]
    if earlier:
        first = min(ctx.tokens.first_seen.get(value, 0) for value in earlier)
        raise CheckFailure(
            "LT-TOKEN-UNIQUE",
            "a grant hands out a token issued before",
            "no token issued earlier in this run anywhere in a grant",
            f"the token issued in request #{first}, beside this grant's own",
        )
    return "LT-TOKEN-UNIQUE"


@check(serves=("LT-TOKEN-STRENGTH",))
def token_strength(subject: Subject, ctx: CheckContext) -> str | None:
    """Tokens carry enough entropy: by length and alphabet, by varying positions, and not sequential."""
    token = subject.token
    if not subject.issued or not token:
        return None
    minimum = ctx.profile.token_min_bits
    bits = estimated_bits(token)
    if bits < minimum:
        raise CheckFailure(
            "LT-TOKEN-STRENGTH",
            "token too short for its alphabet",
            f">= {minimum} bits",
            f"{len(token)} characters of a {alphabet_size(token)}-symbol alphabet = {bits:.0f} bits",
        )
    # The most recent earlier tokens, newest first, taken lazily: judging one token costs the same early
    # and late in a run.
    earlier = (t for t in reversed(ctx.tokens.ordered) if t != token)
    relation = arithmetic_relation(token, list(itertools.islice(earlier, 2))[::-1])
    if relation:
        raise CheckFailure(
            "LT-TOKEN-STRENGTH",
            "token predictable from the previous ones",
            "no arithmetic relation to earlier tokens",
            relation,
        )
    newest = (t for t in reversed(ctx.tokens.ordered) if t != token and len(t) == len(token))
    same_length = list(itertools.islice(newest, POSITIONAL_SAMPLE * 4))
    if len(same_length) >= POSITIONAL_SAMPLE:
        # A position varies when an earlier token has another character there: most differ from the
        # newest already, so only the positions it shares are looked up in the others.
        shared = [i for i, (ch, other) in enumerate(zip(token, same_length[0], strict=True)) if ch == other]
        unchanged = sum(1 for i in shared if all(t[i] == token[i] for t in same_length[1:]))
        varying = len(token) - unchanged
        varying_bits = varying * math.log2(alphabet_size(token))
        if varying_bits < minimum:
            raise CheckFailure(
                "LT-TOKEN-STRENGTH",
                "most token positions never change",
                f">= {minimum} bits in positions that vary across tokens",
                f"{varying} of {len(token)} positions vary over {len(same_length) + 1} tokens "
                f"= {varying_bits:.0f} bits",
            )
    return "LT-TOKEN-STRENGTH"


@check(serves=("LT-TOKEN-ENTROPY",))
def token_entropy(subject: Subject, ctx: CheckContext) -> str | None:
    """Once the run has issued token_sample tokens, the sample shows no bias and enough min-entropy."""
    token = subject.token
    if not subject.issued or not token:
        return None
    # The sample: the distinct tokens issued before this exchange, and this one when it is new.
    history = ctx.tokens
    first = history.first_seen.get(token)
    if first is None:
        sample = [*history.ordered, token]
    elif first == subject.exchange.sequence:
        sample = history.ordered  # this exchange was already observed
    else:
        return None  # a repeated token adds nothing to the sample (token_unique judges it)
    if len(sample) != ctx.profile.token_sample:
        return None
    report = analyse(sample)
    if report is None:
        return None
    if report.biased and report.clean_bits < ctx.profile.token_min_bits:
        raise CheckFailure(
            "LT-TOKEN-ENTROPY",
            "token characters are not uniformly random",
            f"no position or character frequency off at p < {P_THRESHOLD:g} over {report.sample} tokens "
            f"(or >= {ctx.profile.token_min_bits} bits in the positions that are uniform)",
            "; ".join(report.biased[:3]) + f"; uniform positions carry {report.clean_bits:.0f} bits",
        )
    floor = ctx.profile.token_min_bits / 2
    if report.min_entropy_bits < floor:
        raise CheckFailure(
            "LT-TOKEN-ENTROPY",
            "token min-entropy too low",
            f">= {floor:.0f} bits of min-entropy estimated over {report.sample} tokens",
            f"{report.min_entropy_bits:.0f} bits (by the {report.weakest} estimate)",
        )
    return "LT-TOKEN-ENTROPY"


UNPREDICTABLE = "LT-TOKEN-UNPREDICTABLE"
# The issue time a Date header or <expire> claims is used only this close to the suite's own clock: a
# target cannot widen the window of seeds tried (the cost) by lying about the time.
ISSUE_TIME_SLACK = 5.0


@check(serves=(UNPREDICTABLE,))
def token_unpredictable(subject: Subject, ctx: CheckContext) -> str | None:
    """No token equals one predicted before it was issued: from earlier tokens (Mersenne Twister state,
    linear congruential or xorshift steps, a hash chain) or from the issue time (a time-seeded generator)."""
    token = subject.token
    if not subject.issued or not token:
        return None
    first = ctx.tokens.first_seen.get(token)
    if first is not None and first != subject.exchange.sequence:
        return None  # a repeated token adds nothing (token_unique judges it)
    prediction = ctx.state.predictor.predicted.get(token)
    if prediction is not None:
        raise CheckFailure(
            UNPREDICTABLE,
            "token predicted before it was issued",
            "no token predictable from earlier tokens or the issue time",
            f"{token} was predicted after {prediction.learnt} earlier token(s): {prediction.how}",
        )
    if len(ctx.tokens.ordered) < TIME_SEEDED_TOKENS:
        seeded = time_seeded(token, issue_moments(subject))
        if seeded is not None:
            raise CheckFailure(
                UNPREDICTABLE,
                "token predicted from the issue time",
                "no token predictable from earlier tokens or the issue time",
                f"{token} is {seeded}",
            )
    return UNPREDICTABLE


def issue_moments(subject: Subject) -> list[float]:
    """When the token was issued: the request's send and answer times, the Date header's second and
    <expire> minus token_expire, the last two only when near the suite's clock."""
    exchange = subject.exchange
    sent, answered = exchange.sent_at, exchange.sent_at + exchange.elapsed
    claimed: list[float] = []
    date = exchange.header("date")
    if date:
        second = date_seconds(date)
        if second is not None:
            claimed += [second, second + 1]
    expire = plain_integer((subject.document.field("expire") or "").strip())
    if expire is not None and subject.case.token_expire is not None:
        claimed += [expire - subject.case.token_expire, expire - subject.case.token_expire + 1]
    near = [t for t in claimed if sent - ISSUE_TIME_SLACK <= t <= answered + ISSUE_TIME_SLACK]
    return [sent, answered, *near]
