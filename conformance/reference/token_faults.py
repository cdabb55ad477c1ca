"""Built-in faults in how tokens are generated: each token looks random, yet is predictable.

Every token is long enough and its characters are uniform position by position, so the length,
alphabet, sequence and chi-square rules pass: what is wrong is the generator (issue 21).
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import secrets

from conformance.reference.behaviour import Accepted, Behaviour, Elements, Grant, Options, Rejection
from conformance.reference.faults import fault

HTTP_UNAUTHORIZED = 401

# The 128-bit LCG of PCG's reference implementation (its state, not its permuted output)
LCG_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
LCG_INCREMENT = 0x5851F42D4C957F2D14057B7EF767814F
LCG_MODULUS = 2**128
SMALL_SECRET_BITS = 24


@fault(
    name="token_python_random",
    kind="predictable token: Mersenne Twister",
    requirements=("LT-TOKEN-UNPREDICTABLE",),
)
class TokenPythonRandom(Behaviour):
    """Tokens are 256 bits of Python's `random` (`'%064x' % getrandbits(256)`): 78 consecutive tokens
    give away the Mersenne Twister's whole state, and with it every later token."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.generator = random.Random(secrets.randbits(64))

    def token(self) -> str:
        with self.lock:
            return f"{self.generator.getrandbits(256):064x}"


@fault(name="token_lcg_per_user", kind="predictable token: LCG", requirements=("LT-TOKEN-UNPREDICTABLE",))
class TokenLcgPerUser(Behaviour):
    """Each user's tokens come from a linear congruential generator of its own (x' = a x + c mod 2^128,
    32 hex digits, seeded at random): three of a user's tokens predict the next."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.states: dict[int, int] = {}

    def issue(self, accepted: Accepted, now: float) -> Grant:
        with self.lock:
            state = self.states.get(accepted.user_id, secrets.randbits(128))
            state = (LCG_MULTIPLIER * state + LCG_INCREMENT) % LCG_MODULUS
            self.states[accepted.user_id] = state
        return dataclasses.replace(super().issue(accepted, now), token=f"{state:032x}")


@fault(
    name="token_24_bit_repeated",
    kind="weak token: stretched secret",
    requirements=("LT-TOKEN-ENTROPY",),
    # A recording keeps the distance between hex tokens (their stand-ins are value + K), not the
    # repetition inside one: a secret-free cassette cannot show it.
    recordable=False,
)
class Token24BitRepeated(Behaviour):
    """A 24-bit random value repeated over a 128-bit token (32 hex digits): every position is uniform,
    the token carries 24 bits."""

    def token(self) -> str:
        small = secrets.randbits(SMALL_SECRET_BITS).to_bytes(SMALL_SECRET_BITS // 8, "big")
        return (small * 6)[:16].hex()


@fault(
    name="token_hash_chain", kind="predictable token: hash chain", requirements=("LT-TOKEN-UNPREDICTABLE",)
)
class TokenHashChain(Behaviour):
    """Each token is the SHA-256 of the previous one (hex, cut to 32 digits): one token predicts the next."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.previous = secrets.token_hex(16)

    def token(self) -> str:
        with self.lock:
            self.previous = hashlib.sha256(self.previous.encode()).hexdigest()[:32]
            return self.previous


@fault(
    name="token_time_seeded", kind="predictable token: time seed", requirements=("LT-TOKEN-UNPREDICTABLE",)
)
class TokenTimeSeeded(Behaviour):
    """Each token is drawn from `random.seed(the issue time in milliseconds)`: the Date of the answer
    narrows the seed to a few thousand candidates."""

    def issue(self, accepted: Accepted, now: float) -> Grant:
        token = f"{random.Random(int(now * 1000)).getrandbits(128):032x}"
        return dataclasses.replace(super().issue(accepted, now), token=token)


@fault(
    name="refusal_hands_out_last_token",
    kind="token disclosed in a refusal",
    requirements=("LT-REJECT-NO-TOKEN",),
)
class RefusalHandsOutLastToken(Behaviour):
    """A refusal of the key (401) quotes the last token the server issued (to whichever user): a wrong key
    is enough to obtain someone's credential."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.last_token = ""

    def issue(self, accepted: Accepted, now: float) -> Grant:
        grant = super().issue(accepted, now)
        with self.lock:
            self.last_token = grant.token
        return grant

    def rejection_elements(self, rejection: Rejection) -> Elements:
        with self.lock:
            last = self.last_token
        leaks = last and rejection.status == HTTP_UNAUTHORIZED
        message = f"{rejection.message} (last session {last})" if leaks else rejection.message
        return [("status", str(rejection.status)), ("message", message)]


@fault(
    name="qrcode_carries_previous_token",
    kind="token handed out twice",
    requirements=("LT-TOKEN-UNIQUE",),
)
class QrcodeCarriesPreviousToken(Behaviour):
    """An off-by-one: each grant's `<qrcode>` URL names the token of the grant before it, so whoever
    scans the next user's code holds the previous user's credential."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.previous = ""

    def issue(self, accepted: Accepted, now: float) -> Grant:
        grant = super().issue(accepted, now)
        with self.lock:
            previous, self.previous = self.previous, grant.token
        return dataclasses.replace(grant, qrcode=f"{grant.qrcode}?session={previous}") if previous else grant
