"""Views of a text in which a secret is searched: the XML and percent-decoded views every secret is
searched in, and the *normalised* views the key is searched in.

Literal needles cannot list every spelling a target may invent, so the key and its probes are also
searched in normalised views of a text: decoded (percent-decoding to a fixed point, XML/HTML entities,
JSON/C escapes, quoted-printable), then with separators removed and case folded (forwards and reversed
by the caller), and in the bytes of every base64/base64url, base32 and hex run (whitespace and line
breaks fall away; UTF-16/32 bytes fold to the same letters once their NULs are dropped). The cost is
linear: a text is read in windows of DEEP_WINDOW characters (overlapping by the longest spelling), each
window gives at most MAX_DECODED_VIEWS decoded views, and a base-N alphabet is decoded (in C, at every
alignment) only where a run of HINT_RUN of its characters shows.
"""

from __future__ import annotations

import binascii
import functools
import html
import re
import string
from collections.abc import Iterator

_GAPS = re.compile(r"<!--.*?(?:-->|\Z)|<!\[CDATA\[|\]\]>", re.S)
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
NAMED_REFERENCES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_NAMED_REF = re.compile(r"&(amp|lt|gt|quot|apos);")
_MAX_CODE_POINT = 0x10FFFF
_PERCENT_RUN = re.compile(r"(?:%[0-9a-fA-F]{2})+")


def _char(match: re.Match[str]) -> str:
    hex_digits, decimal = match.groups()
    number = int(hex_digits, 16) if hex_digits else int(decimal)
    return chr(number) if 0 < number <= _MAX_CODE_POINT else match.group(0)


def xml_view(text: str) -> str | None:
    """``text`` with comments and CDATA markers removed and character references resolved; None: same."""
    if "&" not in text and "<!" not in text and "]]>" not in text:
        return None
    text = _GAPS.sub("", text)
    text = _CHAR_REF.sub(_char, text)
    return _NAMED_REF.sub(lambda m: NAMED_REFERENCES[m.group(1)], text)


def _percent_view(text: str) -> str | None:
    # Not urllib's unquote_plus: it splits at every "%", and a body of a million of them costs seconds.
    if "%" not in text and "+" not in text:
        return None
    return _PERCENT_RUN.sub(_percent_decoded, text.replace("+", " "))


def _percent_decoded(match: re.Match[str]) -> str:
    return bytes.fromhex(match.group(0).replace("%", "")).decode("utf-8", "surrogateescape")


def views(text: str) -> list[str]:
    """The texts a secret is searched in: as is, XML-resolved, percent-decoded, and both."""
    out = [text]
    xml = xml_view(text)
    if xml is not None:
        out.append(xml)
    for view in list(out):
        decoded = _percent_view(view)
        if decoded is not None and decoded != view:
            out.append(decoded)
    return out


# -- the normalised views (the key and its probes) ----------------------------------------------------
DEEP_MIN_LENGTH = 8  # a key (or probe) folding to fewer letters and digits is searched literally only
DEEP_WINDOW = 256 * 1024
DEEP_OVERLAP_FACTOR = 16  # the longest spelling searched per character: a padded numeric reference
MAX_DECODED_VIEWS = 8
MAX_PERCENT_ROUNDS = 8
_SEPARATORS = re.compile(r"[\W_]+")
_NOT_ASCII_ALNUM = bytes(b for b in range(256) if not chr(b).isascii() or not chr(b).isalnum())
_LOWER_CASE = bytes.maketrans(string.ascii_uppercase.encode(), string.ascii_lowercase.encode())
_ESCAPED = re.compile(
    r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]{1,6})\}|(.))", re.S
)
_ESCAPED_CHARS = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "0": "\x00"}
_QP_SOFT_BREAK = re.compile(r"=\r?\n")
_QP_RUN = re.compile(r"(?:=[0-9A-Fa-f]{2})+")
_QP_ESCAPE = re.compile(r"=[0-9A-Fa-f][0-9A-Fa-f]")
_NOT_BASE64 = bytes(b for b in range(128) if chr(b) not in string.ascii_letters + string.digits + "+/-_")
_BASE64URL = bytes.maketrans(b"-_", b"+/")
_NOT_BASE32 = bytes(b for b in range(128) if chr(b) not in string.ascii_lowercase + "234567")
_BASE32_DIGITS = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz234567", b"0123456789abcdefghijklmnopqrstuv")
_NOT_HEX = bytes(b for b in range(128) if chr(b) not in string.hexdigits)
# Byte maps that turn a text into runs of "a" (characters of an alphabet) and spaces: a run is then a
# substring search, in C (a regular expression tries every position).
HINT_RUN = 8


@functools.cache
def _class_map(alphabet: str) -> bytes:
    return bytes(ord("a") if chr(b) in alphabet else ord(" ") for b in range(256))


_BASE64_CLASS = _class_map(string.ascii_letters + string.digits + "+/-_")
_BASE32_UPPER_CLASS = _class_map(string.ascii_uppercase + "234567")
_BASE32_LOWER_CLASS = _class_map(string.ascii_lowercase + "234567")
_HEX_CLASS = _class_map("0123456789abcdef")  # in a folded view


def _has_run(ascii_view: bytes, class_map: bytes) -> bool:
    return b"a" * HINT_RUN in ascii_view.translate(class_map)


def class_runs(view: str, alphabet: str, length: int) -> list[str]:
    """The runs of at least ``length`` characters of ``alphabet`` (ASCII) standing alone in ``view``."""
    mapped = view.encode("ascii", "replace").translate(_class_map(alphabet))
    runs, seed, at = [], b"a" * length, 0
    while (at := mapped.find(seed, at)) >= 0:  # a C substring search from run to run
        end = mapped.find(b" ", at)
        end = len(mapped) if end < 0 else end
        runs.append(view[at:end])
        at = end
    return runs


def folded(text: str) -> str:
    """``text`` with every separator (anything but letters and digits) removed and case folded."""
    if text.isascii():
        return _folded_bytes(text.encode("ascii")).decode("ascii")
    return _SEPARATORS.sub("", text).casefold()


def _folded_bytes(data: bytes) -> bytes:
    """Only the ASCII letters and digits of ``data``, lower-cased (UTF-16/32 NULs fall away too)."""
    return data.translate(_LOWER_CASE, _NOT_ASCII_ALNUM)


def _unescaped(match: re.Match[str]) -> str:
    four, eight, two, braced, other = match.groups()
    digits = four or eight or two or braced
    if digits:
        number = int(digits, 16)
        return chr(number) if number <= _MAX_CODE_POINT else match.group(0)
    return _ESCAPED_CHARS.get(other, other)


def _escapes_view(text: str) -> str | None:
    if "\\" not in text:
        return None
    # Surrogate pairs written as two \u escapes become one character.
    return _ESCAPED.sub(_unescaped, text).encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _entities_view(text: str) -> str | None:
    return html.unescape(text) if "&" in text else None


def _percent_fixed_point(text: str) -> str | None:
    if "%" not in text:
        return None
    decoded = text
    for _ in range(MAX_PERCENT_ROUNDS):
        step = _PERCENT_RUN.sub(_percent_decoded, decoded)
        if step == decoded:
            break
        decoded = step
    return decoded


def _quoted_printable_view(text: str) -> str | None:
    if not _QP_ESCAPE.search(text) and "=\n" not in text:
        return None
    text = _QP_SOFT_BREAK.sub("", text)
    return _QP_RUN.sub(
        lambda m: bytes.fromhex(m.group(0).replace("=", "")).decode("utf-8", "surrogateescape"), text
    )


_TEXT_DECODERS = (_percent_fixed_point, _entities_view, _escapes_view, _quoted_printable_view)


def decoded_views(text: str) -> list[str]:
    """``text`` and what each text decoder (and each pair of them) makes of it, at most MAX_DECODED_VIEWS."""
    out, frontier = [text], [text]
    for _ in range(2):
        next_frontier = []
        for view in frontier:
            for decoder in _TEXT_DECODERS:
                decoded = decoder(view)
                if decoded is not None and decoded not in out and len(out) < MAX_DECODED_VIEWS:
                    out.append(decoded)
                    next_frontier.append(decoded)
        frontier = next_frontier
    return out


# The decoders below read a view's ASCII bytes (its other characters belong to no base-N alphabet).
def _base64_decodings(ascii_view: bytes) -> Iterator[bytes]:
    # Every base64/base64url character of the view, in order: an encoded run (split by line breaks or
    # glued to its neighbours) is whole in it, and one of the four alignments decodes it. A last group of
    # two or three characters is padded: its one or two bytes end the encoded value.
    alphabet = ascii_view.translate(_BASE64URL, _NOT_BASE64)
    for offset in range(4):
        part = alphabet[offset:]
        rest = len(part) % 4
        yield binascii.a2b_base64(part + b"=" * (4 - rest) if rest >= 2 else part[: len(part) - rest])


def _base32_decodings(lower_view: bytes) -> Iterator[bytes]:
    # int() reads base 32 in C (base64.b32decode loops in Python): the RFC 4648 alphabet mapped onto it.
    # Read once: dropping the first k digits is keeping the number's low 5 (n - k) bits.
    digits = lower_view.translate(_BASE32_DIGITS, _NOT_BASE32)
    if len(digits) * 5 < 8:
        return
    number = int(digits, 32)
    for offset in range(8):
        bits = 5 * (len(digits) - offset)
        if bits >= 8:
            yield ((number & ((1 << bits) - 1)) >> (bits % 8)).to_bytes(bits // 8, "big")


def _hex_decodings(ascii_fold: bytes) -> Iterator[bytes]:
    digits = ascii_fold.translate(None, _NOT_HEX)
    for offset in range(2):
        part = digits[offset:]
        yield bytes.fromhex(part[: len(part) // 2 * 2].decode("ascii"))


def normalised_views(text: str) -> tuple[str, bytes]:
    """The folded views of ``text`` a key is searched in: the decoded texts, joined by a separator no
    needle holds, and the bytes of base-N runs, end to end (ASCII letters and digits; see DEEP_WINDOW for
    bounds)."""
    texts, data = [], []
    for view in decoded_views(text):
        if view.isascii():  # the usual case: encoded once, folded and lower-cased as bytes
            ascii_view = view.encode("ascii")
            ascii_fold, lower_view = _folded_bytes(ascii_view), ascii_view.lower()
            fold = ascii_fold.decode("ascii")
        else:  # case folding may make ASCII of other characters (a "K" sign, an "ff" ligature)
            ascii_view = view.encode("ascii", "ignore")
            fold = folded(view)
            ascii_fold, lower_view = fold.encode("ascii", "ignore"), view.lower().encode("ascii", "ignore")
        texts.append(fold)
        # Decoded only where a run of the alphabet shows: a body of short words costs a search, not a decode.
        decoded = [*_base64_decodings(ascii_view)] if _has_run(ascii_view, _BASE64_CLASS) else []
        if _has_run(ascii_view, _BASE32_UPPER_CLASS) or _has_run(ascii_view, _BASE32_LOWER_CLASS):
            decoded += _base32_decodings(lower_view)
        decoded += _hex_decodings(ascii_fold) if _has_run(ascii_fold, _HEX_CLASS) else []
        data += [d for d in decoded if len(d) >= DEEP_MIN_LENGTH]
    # The decodings folded at once: a needle met across two of them is the key spelled there all the same.
    return " ".join(texts), _folded_bytes(b"".join(data))


def holds_folded(text: str, *values: str) -> bool:
    """Whether any of ``values`` (folded: DEEP_MIN_LENGTH letters and digits or more) shows in a normalised
    view of ``text``: as is, decoded, or in the bytes of a base-N run; window by window, as a key is
    searched (each window's views worked out once for all the values)."""
    folds = [folded(value) for value in values]
    needles = [(fold, fold.encode("ascii") if fold.isascii() else b"") for fold in folds]
    for window in windows(text, DEEP_OVERLAP_FACTOR * max(map(len, values), default=0) + 64):
        texts, decoded = normalised_views(window)
        if any(fold in texts or (ascii_form and ascii_form in decoded) for fold, ascii_form in needles):
            return True
    return False


def windows(text: str, overlap: int) -> Iterator[str]:
    """``text`` in windows of DEEP_WINDOW characters, each reaching ``overlap`` into the next."""
    if len(text) <= DEEP_WINDOW + overlap:
        yield text
        return
    for start in range(0, len(text), DEEP_WINDOW):
        yield text[start : start + DEEP_WINDOW + overlap]
