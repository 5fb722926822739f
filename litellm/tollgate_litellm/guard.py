"""
The gateway's guardrails on what a call sends (issue 30, parts 4 and 5): personal data found in every text of the
request is masked or refused per category as the account's PII policy says, and a prompt-injection / jailbreak score
is computed on every call. Pure: no LiteLLM call, no I/O but the rules file read once at import.

`guard_request(kind, data, pii_policy)`:
- collects every string of every field gate.py admits for the kind's route, at any depth, as text (READ_FIELDS), but
  for a small deny-list: per kind the top-level fields that are enumerations or the model's name (STRUCTURAL_FIELDS,
  each with its reason), and at any depth `role`, `type`, `detail`, `media_type`, `mime_type`, `status` — each left
  alone only while its value looks like an enumeration (one token of letters, digits and _.:/+-), and base64 payloads
  (a `data:…;base64,` URL anywhere; `data`, `file_data`, `b64_json`, `encrypted_content`, `signature` when their value
  is base64). So names, ids (`tool_call_id`, `call_id`), URLs, tool descriptions and JSON schemas, `stop`, `user` are
  text and masked too: a masked name or id the provider then refuses is a failed call, which is free. Keys of objects
  are not read. LiteLLM's own keys in the hook's body (metadata, its copy of the request) are not the client's: not read;
- scores the original texts against safety_rules.json (always, whatever the policy), reading the first and the last
  64 KB of the call's texts joined (SAFETY_WINDOW), so the score's cost is bounded whatever the body's size;
- with every category off, changes and refuses nothing;
- with a category on (mask or block), refuses (400 pii_unscannable) a part it cannot read, so cannot check: token-id
  inputs (embedding `input`, completion `prompt` as integer arrays), chat `file` and `input_audio` parts, Responses
  `input_file` parts, Messages `document` blocks (and video/audio parts of any kind). Images are allowed: their payload
  is skipped and text inside an image is not checked (there is no OCR here), which is stated in the README;
- finds the candidates of every category in a normalised copy of the texts (each character NFKC-normalised, every
  decimal digit of any script made its ASCII digit, format characters such as zero-width spaces and bidi controls
  removed; the detectors read ASCII digits only), each mapped back to its original characters; keeps non-overlapping
  ones by priority (secret > card > iban > email > ip > gov_id > phone, then earliest, then longest; a candidate wholly
  inside a longer one yields to it, so an IBAN's digits are never taken for a card); a kept value of a "block"
  category, or a "block" candidate overlapping a kept "mask" value, refuses the call (400 pii_blocked, naming the
  category, never the value) before anything is changed; otherwise each kept value of a "mask" category is replaced,
  over its original characters, by a placeholder that is stable per value within the call (`[EMAIL_1]`, `[EMAIL_2]`,
  `[CARD_1]`…; a full-width spelling and an ASCII one are the same value), in place, and counted;
- raises nothing but GatewayError (400) on any body. Its work is linear in the body's size (bench/guard.py measures
  it on hostile inputs); billing.py runs it in a worker thread when a body's texts are large.

Not covered (stated in the README): values spelled to evade a pattern ("john at example dot com"), values split across
two texts, values written with JSON escapes inside a JSON-encoded `arguments` string, text inside images, object keys
(a JSON schema's property names, a tool input's keys), and an injection in the middle of a call whose texts are larger
than 128 KB (only the first and last 64 KB are scored).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import unicodedata
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from . import contract
from .errors import GatewayError
from .gate import BILLED_ROUTES

PII_CATEGORIES: tuple[str, ...] = contract.PII_CATEGORIES
ACTIONS = frozenset({"off", "mask", "block"})
# Which category wins when two candidates overlap (lower first): a key can hold digits that look like a card, a card's
# digits can look like a phone number, an IBAN's like a government id.
PRIORITY = {"secret": 0, "card": 1, "iban": 2, "email": 3, "ip": 4, "gov_id": 5, "phone": 6}
LABELS = {"email": "EMAIL", "phone": "PHONE", "card": "CARD", "iban": "IBAN", "gov_id": "GOV_ID", "ip": "IP",
          "secret": "SECRET"}
NAMES = {"email": "an email address", "phone": "a phone number", "card": "a payment card number",
         "iban": "an IBAN", "gov_id": "a government id number", "ip": "an IP address",
         "secret": "a secret (an API key, token or private key)"}

# What the texts of each kind are read from: every field gate.py admits for the kind's route, every string in it at any
# depth, but for the structural fields below and base64 payloads. The body LiteLLM hands the hook also holds its own
# keys (metadata, the proxy's copy of the request, call ids): those are not the client's and are not read.
READ_FIELDS: dict[str, frozenset[str]] = {kind: fields for kind, (_, fields) in BILLED_ROUTES.items()}
MODEL = "the model's name: routed by the gateway, never sent as written"
# Per kind, the fields gate.py admits whose values are enumerations or names the gateway reads, and why. Each is left
# alone only while its value looks like one (ENUM_LIKE: one token of letters, digits and _.:/+-); any other value in
# it (a sentence, an email) is read as text.
STRUCTURAL_FIELDS: dict[str, dict[str, str]] = {
    "chat": {"model": MODEL, "reasoning_effort": "an enumeration (minimal, low, medium, high)",
             "verbosity": "an enumeration (low, medium, high)"},
    "responses": {"model": MODEL, "truncation": "an enumeration (auto, disabled)"},
    "messages": {"model": MODEL},
    "embedding": {"model": MODEL, "encoding_format": "float or base64 (gate.py)"},
    "completion": {"model": MODEL},
    "image": {"model": MODEL, "size": "auto or WIDTHxHEIGHT (gate.py)", "quality": "an enumeration (gate.py)",
              "style": "an enumeration (vivid, natural)", "response_format": "an enumeration (url, b64_json)",
              "background": "an enumeration (transparent, opaque, auto)",
              "output_format": "an enumeration (png, jpeg, webp)", "moderation": "an enumeration (auto, low)"},
    "speech": {"model": MODEL, "voice": "a voice's name", "response_format": "an audio format (mp3, opus, wav…)",
               "stream_format": "an enumeration (audio, sse)"},
    "transcription": {"model": MODEL, "file": "the audio upload (gate.py refuses a text value)",
                      "language": "an ISO-639-1 code", "response_format": "an enumeration (json, text, srt, vtt…)",
                      "timestamp_granularities[]": "an enumeration (word, segment)",
                      "include[]": "an enumeration (logprobs)"},
}
if set(READ_FIELDS) != set(contract.CALL_KINDS) or set(STRUCTURAL_FIELDS) != set(contract.CALL_KINDS):
    raise RuntimeError("guard.py: the fields read must cover exactly the contract's call kinds")
if any(not set(fields) <= READ_FIELDS[kind] for kind, fields in STRUCTURAL_FIELDS.items()):
    raise RuntimeError("guard.py: a structural field gate.py does not admit")
# Keys, at any depth of a message, item, tool or part, whose values are enumerations (left alone while ENUM_LIKE).
STRUCTURAL_KEYS = frozenset({"role", "type", "detail", "media_type", "mime_type", "status"})
ENUM_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]*", re.ASCII)
_ENUMS: dict[str, bool] = {}  # the answers for values seen (a body of a million parts repeats "text" a million times)


def _enum_like(value: str) -> bool:
    known = _ENUMS.get(value)
    if known is None:
        known = len(value) <= 256 and ENUM_LIKE.fullmatch(value) is not None
        if len(_ENUMS) < 4096:
            _ENUMS[value] = known
    return known
# Base64 payloads: a data: URL anywhere, and these keys' values when they are base64 (image, audio and file data,
# generated images, encrypted reasoning, thinking signatures). Any other value under these keys is read as text.
PAYLOAD_KEYS = frozenset({"data", "file_data", "b64_json", "encrypted_content", "signature"})
BASE64_LIKE = re.compile(r"[A-Za-z0-9+/=_\s-]*", re.ASCII)
DATA_URL = re.compile(r"data:[A-Za-z0-9.+/-]{0,100}(?:;[A-Za-z0-9.+-]{1,40}=[A-Za-z0-9.+-]{1,100}){0,4};base64,"
                      r"[A-Za-z0-9+/=_\s-]*", re.ASCII)
# Kinds whose field may be token ids instead of text (a token array or an array of them).
TOKEN_FIELDS = {("embedding", "input"), ("completion", "prompt")}
# Parts that cannot be read as text: refused when a category is on (images are allowed: their payload is skipped).
UNSCANNABLE_TYPES = frozenset({
    "file", "input_file", "document", "input_audio", "audio", "video", "video_url", "input_video", "container_upload",
})
# Blocks whose `input` is the app's own JSON (every string in it is data, whatever its key).
FREE_INPUT_TYPES = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
MAX_DEPTH = 256


# -- detection ----------------------------------------------------------------------------------------------------
# Speed: every pattern starts with a literal or a character class (the regex engine then skips ahead to where one can
# start instead of trying every position), and its left-boundary guard is a lookbehind written after that first
# character (`\d(?<![\w.]\d)`: the character before the first digit is not a word character or a dot). Every quantifier
# is bounded, and the ones that repeat a group are possessive (Python 3.11), so a long run of digits or letters is
# passed over once, never backtracked across.
Span = tuple[int, int]


class Candidate(NamedTuple):  # a tuple: a hostile text yields hundreds of thousands of them
    start: int
    end: int
    category: str


NOT_DIGIT = re.compile(r"[^0-9]")


def _digits(value: str) -> str:
    """The ASCII digits of a value found in the normalised text (every detector reads ASCII digits only)."""
    return NOT_DIGIT.sub("", value)


LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn(number: str) -> bool:
    digits = [ord(c) - 48 for c in number]
    return (sum(digits[-1::-2]) + sum(LUHN_DOUBLED[d] for d in digits[-2::-2])) % 10 == 0


def issuer_length_ok(digits: str) -> bool:
    """The number's length is one its issuer range uses (ISO/IEC 7812 ranges of the card networks): ids, millisecond
    timestamps, 20261124000500-style stamps and phone numbers starting 0, 1, 7-9 or outside these ranges are not cards."""
    n, first = len(digits), digits[0]
    if first == "4":  # Visa
        return n in (13, 16, 19)
    if first == "2":  # Mastercard 2221-2720
        return n == 16 and 2221 <= int(digits[:4]) <= 2720
    if first == "3":
        if digits[:2] in ("34", "37"):  # American Express
            return n == 15
        if digits[:2] in ("36", "38", "39") or "300" <= digits[:3] <= "305":  # Diners Club
            return 14 <= n <= 19
        return digits[:2] == "35" and 16 <= n <= 19  # JCB
    return first in "56" and 13 <= n <= 19  # Mastercard 51-55, Maestro 50/56-69, Discover 6011/64/65, UnionPay 62


def _card(m: re.Match[str]) -> Span | None:
    # An issuer's range and length, and Luhn-valid (a random number passes one time in ten).
    digits = m.group().replace(" ", "").replace("-", "")
    if issuer_length_ok(digits) and luhn(digits):
        return m.span()
    if len(digits) == 19 and m.group(1) and issuer_length_ok(digits[:16]) and luhn(digits[:16]):
        return (m.start(), m.start() + 19)  # 4-4-4-4 followed by a separate 3-digit number
    return None


# ISO 13616 IBAN lengths by country (SWIFT's registry): a candidate must have its country's exact length.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}


def iban_valid(compact: str) -> bool:
    """An IBAN without spaces, upper case: its country's length and ISO 7064 mod-97 = 1."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit() or not compact.isalnum():
        return False
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def _iban(m: re.Match[str]) -> Span | None:
    # The match starts at the check digits (the country code is in its lookbehind) and may run on into a following
    # word in capitals or digits: the IBAN is the prefix of its country's length, which must end where a group ends.
    text, start = m.string, m.start() - 2
    expected = IBAN_LENGTHS.get(text[start:start + 2].upper())
    if expected is None:
        return None
    seen = 0
    for i in range(start, m.end()):
        if text[i] != " ":
            seen += 1
            if seen == expected:
                end = i + 1
                if end < len(text) and text[end].isalnum():
                    return None
                return (start, end) if iban_valid(text[start:end].replace(" ", "").upper()) else None
    return None


def _ssn(m: re.Match[str]) -> Span | None:
    # Never issued: area 000, 666 or 900-999, group 00, serial 0000.
    area, group, serial = m.group().split("-")
    return None if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000" else m.span()


NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def _nino(m: re.Match[str]) -> Span | None:
    return None if m.group()[:2] in NINO_BAD_PREFIXES else m.span()


def _sin(m: re.Match[str]) -> Span | None:
    return m.span() if luhn(_digits(m.group())) else None


def _cpf(m: re.Match[str]) -> Span | None:
    d = [int(c) for c in _digits(m.group())]
    if len(set(d)) == 1:  # 000.000.000-00 … pass the checksum and are never issued
        return None
    for n in (9, 10):
        if sum(d[i] * (n + 1 - i) for i in range(n)) * 10 % 11 % 10 != d[n]:
            return None
    return m.span()


DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def _dni(m: re.Match[str]) -> Span | None:
    value = m.group().replace("-", "")
    number = {"X": "0", "Y": "1", "Z": "2"}.get(value[0], value[0]) + value[1:-1]
    return m.span() if DNI_LETTERS[int(number) % 23] == value[-1] else None


def _ipv4(m: re.Match[str]) -> Span | None:
    try:
        address = ipaddress.IPv4Address(m.group())  # each octet 0–255, no leading zeros (so not 01.02.20.24)
    except ValueError:
        return None
    # Loopback and unspecified addresses (127.0.0.1, 0.0.0.0) name no one: code snippets keep them.
    return None if address.is_loopback or address.is_unspecified else m.span()


def _ipv6(m: re.Match[str]) -> Span | None:
    value = m.group()
    # Two non-empty groups and a digit at least: "::", "a::b", "dead::beef" are not taken for addresses.
    if sum(1 for g in re.split(r"[:.]", value) if g) < 2 or not any("0" <= c <= "9" for c in value):
        return None
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return None
    return None if address.is_loopback or address.is_unspecified else m.span()


def _phone_groups(m: re.Match[str], low: int, high: int) -> Span | None:
    """The longest run of the match's digit groups from its start whose digit count is within [low, high]: a number
    followed by an unrelated one ("call 020 7946 0958 12 times") keeps its own groups only."""
    text, start = m.string, m.start()
    best = None
    count = 0
    for group in DIGIT_RUN.finditer(text, start, m.end()):
        count += group.end() - group.start()
        if count > high:
            break
        if count >= low:
            best = group.end()
    if best is None:
        return None
    if best < m.end() and text[best] == ")":
        best += 1
    return (start, best)


DIGIT_RUN = re.compile(r"[0-9]+")
DATE_LIKE = re.compile(r"0[0-9][./-][01][0-9][./-](?:19|20)[0-9][0-9]")


def _e164(m: re.Match[str]) -> Span | None:
    return _phone_groups(m, 8, 15)  # E.164: country code and number, 8–15 digits in all


def _national(m: re.Match[str]) -> Span | None:
    if DATE_LIKE.match(m.group()):  # 01.02.2024 1234 is a date and a number
        return None
    return _phone_groups(m, 10, 12)


def _has_letter_and_digit(m: re.Match[str]) -> Span | None:
    # sk-…: a key mixes letters and digits; a slug ("sk-learn-is-a-python-library") has no digit.
    body = m.group()[3:]
    return m.span() if any("0" <= c <= "9" for c in body) and any(c.isalpha() for c in body) else None


def _regex_finder(pattern: str, check: Callable[[re.Match[str]], Span | None] | None = None,
                  needs: str | None = None, flags: int = re.ASCII) -> Callable[[str], Iterator[Span]]:
    """Candidates of one pattern. A match its check trims resumes the search where the value ended (the word after an
    IBAN may hold the next one); a match its check rejects resumes one character later. re.ASCII: \\d is [0-9] and \\w
    [A-Za-z0-9_], so a value's digits are always ASCII (other scripts' digits are made ASCII by the normalisation)."""
    search = re.compile(pattern, flags).search

    def find(text: str) -> Iterator[Span]:
        if needs is not None and needs not in text:
            return
        at = 0
        while (m := search(text, at)) is not None:
            span = check(m) if check is not None else m.span()
            if span is not None and span[1] > span[0]:
                yield span
                at = span[1]
            else:
                at = m.start() + 1

    return find


EMAIL_AT = re.compile(
    # From the '@' (a literal: scanned fast): a dotted domain of LDH labels and an alphabetic TLD, not followed by
    # more of a name or another '@'.
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9@-]|\.[A-Za-z0-9])")
EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")


def _emails(text: str) -> Iterator[Span]:
    """Emails, found from their '@': the local part is read backwards (1–64 of the usual characters, not glued to a
    longer token); a name@host without a dotted domain is not one."""
    if "@" not in text:
        return
    for m in EMAIL_AT.finditer(text):
        at = m.start()
        start = at
        while start > 0 and at - start < 65 and text[start - 1] in EMAIL_LOCAL:
            start -= 1
        if start == at or at - start > 64 or (start > 0 and text[start - 1] == "@"):
            continue
        yield (start, m.end())


PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----")
PEM_END = re.compile(r"-----END (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----")
PEM_BODY = re.compile(r"[A-Za-z0-9+/=\s\\:,-]{0,200000}+", re.ASCII)
PEM_MAX = 200_000


def _pem_keys(text: str) -> Iterator[Span]:
    """PEM private keys, the whole block: a BEGIN line to the first END line after it (within 200,000 characters, in
    the same text), else to the end of its base64 (a block cut before its END line). Linear: every END line is found
    once and each BEGIN paired with the next one by bisection (a lazy regex from each BEGIN rescans the rest of the
    text for every header, quadratic in the number of headers)."""
    if "PRIVATE KEY" not in text:
        return
    ends = [(m.start(), m.end()) for m in PEM_END.finditer(text)]
    end_starts = [start for start, _ in ends]
    nuls = [m.start() for m in re.finditer("\x00", text)] if "\x00" in text else []
    at = 0
    while (m := PEM_BEGIN.search(text, at)) is not None:
        i = bisect_left(end_starts, m.end())
        end = None
        if i < len(ends) and ends[i][0] - m.end() <= PEM_MAX:
            j = bisect_left(nuls, m.end())
            if j == len(nuls) or nuls[j] > ends[i][0]:
                end = ends[i][1]
        if end is None:
            end = PEM_BODY.match(text, m.end()).end()
        yield (m.start(), end)
        at = end


@dataclass(frozen=True)
class Detector:
    category: str
    find: Callable[[str], Iterator[Span]]


NOT_WORD = r"[A-Za-z0-9_]"
# The first digit is an issuer's (2-6, see _card), not glued to a word ("ref4111…", an IBAN's BBAN); grouped forms are
# read even after other numbers ("order 12 4111 1111 1111 1111").
CARD_PATTERN = (r"[2-6](?<![A-Za-z0-9][2-6])(?:\d{12,18}|\d{3}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|\d{3}([ -])\d{6}\2\d{4,5})"
                r"(?!\d)")
DETECTORS: tuple[Detector, ...] = (
    # -- secrets (before everything: a key's characters can look like any other category)
    # PEM private keys, the whole block (a block cut before its END line: to the end of its base64).
    Detector("secret", _pem_keys),
    # OpenAI sk-…, sk-proj-…, Anthropic sk-ant-…: 20+ key characters with letters and digits.
    Detector("secret", _regex_finder(r"sk-(?<!" + NOT_WORD + r"sk-)[A-Za-z0-9_-]{20,400}+(?![A-Za-z0-9_-])",
                                     _has_letter_and_digit, "sk-")),
    # AWS access key ids.
    Detector("secret", _regex_finder(r"A(?<![A-Z0-9]A)(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])")),
    # GitHub tokens: ghp_/gho_/ghu_/ghs_/ghr_ + 36, fine-grained github_pat_…
    Detector("secret", _regex_finder(
        r"g(?<!" + NOT_WORD + r"g)(?:h[pousr]_[A-Za-z0-9]{36,251}+|ithub_pat_[A-Za-z0-9_]{22,242}+)(?![A-Za-z0-9_])")),
    # Slack tokens.
    Detector("secret", _regex_finder(r"x(?<!" + NOT_WORD + r"x)ox[abprs]-[A-Za-z0-9-]{10,250}+(?![A-Za-z0-9-])",
                                     needs="xox")),
    # Stripe secret and restricted keys (live and test).
    Detector("secret", _regex_finder(r"[sr](?<!" + NOT_WORD + r"[sr])k_(?:live|test)_[A-Za-z0-9]{16,247}+"
                                     r"(?![A-Za-z0-9_])", needs="k_")),
    # Google API keys.
    Detector("secret", _regex_finder(r"AIza(?<!" + NOT_WORD + r"AIza)[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")),
    # Tollgate keys: "tg_" + 40 (issued) or 43 (managed) base64url characters ("tg_session" is too short).
    Detector("secret", _regex_finder(r"tg_(?<!" + NOT_WORD + r"tg_)[A-Za-z0-9_-]{40,64}+(?![A-Za-z0-9_-])")),
    # JWTs: base64url JSON header and payload (both start with '{"', "eyJ"), and a signature (empty for alg none).
    Detector("secret", _regex_finder(
        r"eyJ(?<!" + NOT_WORD + r"eyJ)[A-Za-z0-9_-]{5,8192}+\.eyJ[A-Za-z0-9_-]{5,65536}+\.[A-Za-z0-9_-]{0,8192}+"
        r"(?![A-Za-z0-9_-])")),
    # -- payment cards: unseparated, or in the printed groupings (4-4-4-4[-3], Amex 4-6-5, Diners 4-6-4); Luhn.
    Detector("card", _regex_finder(CARD_PATTERN, _card)),
    # -- IBAN: two letters, two check digits, then the BBAN unspaced or in groups; length by country, mod-97.
    Detector("iban", _regex_finder(r"\d\d(?<=(?<![A-Za-z0-9])[A-Za-z]{2}\d\d)(?: ?[A-Za-z0-9]){11,30}+", _iban)),
    # -- email
    Detector("email", _emails),
    # -- IP addresses, validated by ipaddress; v1.2.3.4 (a version) and 1.2.3.4.5 are not addresses.
    Detector("ip", _regex_finder(r"\d(?<![\w.]\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\w|\.\d)", _ipv4, ".")),
    Detector("ip", _regex_finder(
        r"(?:[0-9A-Fa-f](?<![\w:.][0-9A-Fa-f])[0-9A-Fa-f]{0,3}:|:(?<![\w:.]:))(?:[0-9A-Fa-f]{0,4}:){1,6}+"
        r"(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:])", _ipv6, ":")),
    # -- government ids.
    # US SSN AAA-GG-SSSS with dashes (a bare 9-digit number is anything); the never-issued ranges are excluded.
    Detector("gov_id", _regex_finder(r"\d(?<![\w-]\d)\d\d-\d\d-\d{4}(?![\w-])", _ssn, "-")),
    # UK National Insurance number: prefix letters (not D F I Q U V; second not O; not BG GB KN NK NT TN ZZ), six
    # digits, suffix A-D; upper case, optionally spaced in pairs.
    Detector("gov_id", _regex_finder(
        r"[A-CEGHJ-PR-TW-Z](?<![A-Za-z0-9].)[A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])", _nino)),
    # Canadian SIN 123 456 782 / 123-456-782 (separators required), first digit not 0 or 8, Luhn.
    Detector("gov_id", _regex_finder(r"[1-79](?<![\w-].)\d{2}([ -])\d{3}\1\d{3}(?![\w-])(?!\1\d)", _sin)),
    # Brazilian CPF 123.456.789-09, formatted, both check digits.
    Detector("gov_id", _regex_finder(r"\d(?<![\w.]\d)\d{2}\.\d{3}\.\d{3}-\d{2}(?![\w-])", _cpf, ".")),
    # Spanish DNI 12345678Z and NIE X1234567L, the control letter (mod 23) checked.
    Detector("gov_id", _regex_finder(
        r"(?:\d(?<![A-Za-z0-9]\d)\d{7}|[XYZ](?<![A-Za-z0-9][XYZ])-?\d{7})-?[TRWAGMYFPDXBNJZSQVHLCKE](?![A-Za-z0-9])",
        _dni)),
    # -- phone numbers (last: a digit run is most often something else).
    # E.164 with its '+', with or without separators and a parenthesized area code: 8–15 digits.
    Detector("phone", _regex_finder(
        r"\+(?<![\w+]\+)[1-9]\d{0,2}+(?:[ .-]?+(?:\(\d{1,4}+\)|\d{1,8}+)){1,7}+", _e164, "+")),
    # North American (NXX) NXX-XXXX, separators required: (415) 555-2671, 415-555-2671, 415.555.2671, 1-800-…
    Detector("phone", _regex_finder(
        r"(?:1(?<![\w+]1)(?<!\d[ .-]1)[ .-](?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])|\((?<![\w+]\()(?<!\d[ .-]\()[2-9]\d{2}\) ?"
        r"|[2-9](?<![\w+][2-9])(?<!\d[ .-][2-9])\d{2}[ .-])\d{3}[ .-]\d{4}(?!\w)(?!-\d)")),
    # Trunk-prefix national formats, 0 + 9–11 digits with a separator: UK 020 7946 0958, 07700 900123, FR 01 23 45 67
    # 89, DE 030 1234567. Dates (01.02.2024) are not phones.
    Detector("phone", _regex_finder(
        r"0(?<![\w+.]0)(?<!\d[ .-]0)\d{1,4}+[ .-]\d{2,8}+(?:[ .-]\d{2,4}+){0,3}+(?!\w)", _national)),
)
if {d.category for d in DETECTORS} != set(PII_CATEGORIES) or set(PRIORITY) != set(PII_CATEGORIES):
    raise RuntimeError("guard.py: detectors and priorities must cover exactly the contract's PII categories")


# -- normalisation: detection reads an NFKC copy without format characters ----------------------------------------
# Full-width digits and '＠', a zero-width space inside an email, Arabic-Indic digits: the detectors read a copy where
# each character is NFKC-normalised, every decimal digit of any script is its ASCII digit, and format characters
# (Unicode category Cf: zero-width spaces and joiners, bidi controls, soft hyphens, tags) are removed. A value found
# there is masked over its original characters. The table is built on the first text that is not ASCII.
_FOLD: dict[int, str | None] | None = None
_NONLINEAR: re.Pattern[str] | None = None


def _char_class(codepoints: list[int]) -> str:
    ranges = []
    for cp in codepoints:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


def _fold_table() -> tuple[dict[int, str | None], re.Pattern[str]]:
    """str.translate's table (codepoint -> its replacement, None to remove) and a pattern of runs of the characters
    whose replacement is not one character (removed or expanded: the offsets after them shift)."""
    global _FOLD, _NONLINEAR
    if _FOLD is None or _NONLINEAR is None:
        fold: dict[int, str | None] = {}
        for cp in (*range(0x80, 0x30000), *range(0xE0000, 0xE1000)):
            c = chr(cp)
            if unicodedata.category(c) == "Cf":
                fold[cp] = None
                continue
            digit = unicodedata.decimal(c, None)
            if digit is not None:
                fold[cp] = str(digit)
                continue
            n = unicodedata.normalize("NFKC", c)
            if n != c:
                n = "".join(str(unicodedata.decimal(d)) if unicodedata.decimal(d, None) is not None else d
                            for d in n if unicodedata.category(d) != "Cf")
                fold[cp] = n
        nonlinear = [cp for cp, n in fold.items() if n is None or len(n) != 1]
        _FOLD, _NONLINEAR = fold, re.compile(f"[{_char_class(nonlinear)}]+")
    return _FOLD, _NONLINEAR


@dataclass
class Folded:
    """The normalised copy of a text and the way back: runs of removed or expanded characters (their offsets in the
    copy and in the original); between runs the two advance together."""

    text: str
    run_starts: list[int] = field(default_factory=list)  # in the copy
    run_ends: list[int] = field(default_factory=list)  # in the copy
    orig_starts: list[int] = field(default_factory=list)
    orig_ends: list[int] = field(default_factory=list)

    def original_span(self, start: int, end: int) -> Span:
        """The original characters a span of the copy was read from: a start or end inside an expanded character
        takes all of it; removed characters inside the span are in it."""
        return self._original(start, False), self._original(end - 1, True)

    def _original(self, at: int, end: bool) -> int:
        i = bisect_right(self.run_starts, at) - 1  # run starts increase strictly: a linear character separates runs
        if i < 0:
            return at + 1 if end else at
        if at < self.run_ends[i]:
            return self.orig_ends[i] if end else self.orig_starts[i]
        offset = self.orig_ends[i] + (at - self.run_ends[i])
        return offset + 1 if end else offset


def fold(text: str) -> Folded:
    """The detectors' copy of a text (ASCII text is its own copy)."""
    if text.isascii():
        return Folded(text)
    table, nonlinear = _fold_table()
    folded = Folded(text.translate(table))
    shift = 0  # copy offset minus original offset, after the runs so far
    for m in nonlinear.finditer(text):
        start, end = m.span()
        length = len(m.group().translate(table))
        folded.run_starts.append(start + shift)
        folded.run_ends.append(start + shift + length)
        folded.orig_starts.append(start)
        folded.orig_ends.append(end)
        shift += length - (end - start)
    return folded


def fold_value(value: str) -> str:
    return value if value.isascii() else value.translate(_FOLD if _FOLD is not None else _fold_table()[0])


def find_candidates_in(texts: list[str]) -> dict[int, list[Candidate]]:
    """Every candidate value of every category in each text (overlapping ones included), by the text's index, in the
    texts' own offsets. The texts are scanned joined by NULs and normalised (fold), one pass per pattern (thousands of
    short texts cost one scan, not thousands of calls); no pattern matches across a NUL, so each candidate lies inside
    one text."""
    joined = "\x00".join(texts)
    folded = fold(joined)
    starts = []
    at = 0
    for text in texts:
        starts.append(at)
        at += len(text) + 1
    found: dict[int, list[Candidate]] = {}
    if len(texts) == 1:
        candidates = [Candidate(*(folded.original_span(*span) if folded.run_starts else span), detector.category)
                      for detector in DETECTORS for span in detector.find(folded.text)]
        return {0: candidates} if candidates else {}
    for detector in DETECTORS:
        for start, end in detector.find(folded.text):
            if folded.run_starts:
                start, end = folded.original_span(start, end)
            i = bisect_right(starts, start) - 1
            base = starts[i]
            if end <= base + len(texts[i]):
                found.setdefault(i, []).append(Candidate(start - base, end - base, detector.category))
    return found


def find_candidates(text: str) -> list[Candidate]:
    return find_candidates_in([text]).get(0, [])


def _contained(candidates: list[Candidate]) -> set[int]:
    """The indexes of candidates lying wholly inside a longer candidate (a sweep by start, then longest first)."""
    order = sorted(range(len(candidates)), key=lambda i: (candidates[i].start, -candidates[i].end))
    inside = set()
    reach = -1  # the furthest end of the candidates starting earlier (or at the same place and longer)
    reach_span = (-1, -1)
    for i in order:
        c = candidates[i]
        if c.end <= reach and (c.start, c.end) != reach_span:
            inside.add(i)
        if c.end > reach:
            reach, reach_span = c.end, (c.start, c.end)
    return inside


def resolve(candidates: list[Candidate]) -> list[Candidate]:
    """Non-overlapping candidates, by category priority, then earliest, then longest; in text order. A candidate wholly
    inside a longer one yields to it whatever their priorities: the digits of an IBAN are not a card, the digits of a
    phone number after its '+' are not a card either (each was validated as what it is whole)."""
    inside = _contained(candidates) if len(candidates) > 1 else set()
    ordered = sorted(range(len(candidates)), key=lambda i: (
        i in inside, PRIORITY[candidates[i].category], candidates[i].start, candidates[i].start - candidates[i].end))
    starts: list[int] = []
    kept: dict[int, Candidate] = {}
    for index in ordered:
        c = candidates[index]
        i = bisect_left(starts, c.start)
        # The kept span starting before c (it must end by c.start) and the one at or after c.start (must start at or
        # after c.end): kept spans never overlap, so these two are the only ones that can.
        if i > 0 and kept[starts[i - 1]].end > c.start:
            continue
        if i < len(starts) and starts[i] < c.end:
            continue
        insort(starts, c.start)
        kept[c.start] = c
    return [kept[s] for s in starts]


def _normalized(category: str, value: str) -> str:
    """What makes two spellings the same value (one placeholder): digits of numbers, case of emails and IBANs."""
    value = fold_value(value)
    if category in ("card", "phone"):
        return _digits(value)
    if category == "iban":
        return value.replace(" ", "").upper()
    if category == "email":
        return value.lower()
    return value


# -- the texts a call sends ---------------------------------------------------------------------------------------
# A path is linked (its parent path, its key): (None, "messages") -> ((None, "messages"), 2) -> … , flattened only for a
# refusal's message, so a body of a million parts costs no million tuples of its depth.
Path_ = tuple[Any, Any] | None


def _path_parts(path: Path_) -> list[Any]:
    parts = []
    while path is not None:
        path, key = path
        parts.append(key)
    return parts[::-1]


def _path(path: Path_) -> str:
    out = ""
    for part in _path_parts(path):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Texts:
    # (holder, key, path): holder[key] is a text.
    slots: list[tuple[Any, Any, Path_]] = field(default_factory=list)
    unscannable: list[tuple[Path_, str]] = field(default_factory=list)


def _is_payload(key: Any, value: str, free: bool) -> bool:
    if value.startswith("data:") and DATA_URL.fullmatch(value):
        return True
    return not free and key in PAYLOAD_KEYS and BASE64_LIKE.fullmatch(value) is not None


def _walk(node: Any, holder: Any, key: Any, path: Path_, texts: Texts, free: bool, depth: int) -> None:
    """Collects every string of a body part but enumerations and payloads. `free`: inside a tool's own input, where
    every string is the app's data, whatever its key. Strings are handled in the loops (no call per string: a body
    can hold a million parts)."""
    if isinstance(node, str):
        if not _is_payload(key, node, free):
            texts.slots.append((holder, key, path))
        return
    if depth > MAX_DEPTH:
        texts.unscannable.append((path, "deeply nested"))
        return
    slots = texts.slots
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, str):
                if not item.startswith("data:") or not DATA_URL.fullmatch(item):
                    slots.append((node, i, (path, i)))
            elif isinstance(item, (list, dict)):
                _walk(item, node, i, (path, i), texts, free, depth + 1)
        return
    if not isinstance(node, dict):
        return
    kind = None if free else node.get("type")
    if not isinstance(kind, str):
        kind = None
    if kind in UNSCANNABLE_TYPES:
        texts.unscannable.append((path, kind))  # refused when a category is on; its strings still count for the score
    for k, value in node.items():
        if isinstance(value, str):
            if not free and k in STRUCTURAL_KEYS and _enum_like(value):
                continue
            if not _is_payload(k, value, free):
                slots.append((node, k, (path, k)))
        elif isinstance(value, (list, dict)):
            _walk(value, node, k, (path, k), texts, free or (k == "input" and kind in FREE_INPUT_TYPES), depth + 1)


def _is_tokens(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(t, int) for t in value)


def collect_texts(kind: str, data: dict) -> Texts:
    """Every text the call sends, and the parts that cannot be read as text."""
    texts = Texts()
    structural = STRUCTURAL_FIELDS[kind]
    read = READ_FIELDS[kind]
    for name, value in data.items():
        if name not in read or value is None:
            continue
        if isinstance(value, str) and name in structural and _enum_like(value):
            continue
        if (kind, name) in TOKEN_FIELDS and isinstance(value, list):
            if _is_tokens(value):
                texts.unscannable.append(((None, name), "token ids"))
                continue
            for i, item in enumerate(value):
                if _is_tokens(item):
                    texts.unscannable.append((((None, name), i), "token ids"))
        if isinstance(value, (str, list, dict)):
            _walk(value, data, name, (None, name), texts, False, 0)
    return texts


# -- safety score -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SafetyRule:
    id: str
    description: str
    pattern: re.Pattern[str]
    weight: int
    # The regex runs only on text holding one of these (lower case); None: on every text (nonAscii: every non-ASCII).
    keywords: tuple[str, ...] | None
    non_ascii: bool
    examples: tuple[str, ...]


def load_rules(path: Path) -> tuple[SafetyRule, ...]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    rules = []
    for rule in raw["rules"]:
        weight = rule["weight"]
        if not isinstance(weight, int) or not 1 <= weight <= 100:
            raise ValueError(f"safety rule {rule['id']}: weight must be 1-100")
        keywords = rule.get("keywords")
        if keywords is not None and (not keywords or any(k != k.lower() or not k for k in keywords)):
            raise ValueError(f"safety rule {rule['id']}: keywords must be non-empty lower-case strings")
        # Case-insensitive by lower-casing the text once (a case-insensitive regex is ten times slower to scan).
        rules.append(SafetyRule(rule["id"], rule["description"], re.compile(rule["regex"], re.MULTILINE), weight,
                                tuple(keywords) if keywords is not None else None, bool(rule.get("nonAscii")),
                                tuple(rule.get("examples") or ())))
    if len({r.id for r in rules}) != len(rules):
        raise ValueError("safety rules: duplicate ids")
    return tuple(rules)


SAFETY_RULES = load_rules(Path(__file__).with_name("safety_rules.json"))
# Between two texts in the joined text: no rule's window ([^\n], \s) crosses it, so no match spans two texts.
TEXT_SEPARATOR = "\n\x00\n"


# The score reads the first and the last 64 KB of a call's texts (joined in the order they are sent): its cost is
# bounded whatever the body's size. An injection in the middle of a larger call is not scored (the README says so).
SAFETY_WINDOW = 64 * 1024


def safety_matches(texts: list[str]) -> list[SafetyRule]:
    """The rules the texts match, each once: one search per rule over the texts joined, lower-cased, bounded to their
    first and last SAFETY_WINDOW characters; a rule whose keywords none of them holds is not searched."""
    joined = TEXT_SEPARATOR.join(texts)
    if len(joined) > 2 * SAFETY_WINDOW:
        joined = joined[:SAFETY_WINDOW] + TEXT_SEPARATOR + joined[-SAFETY_WINDOW:]
    joined = joined.lower()
    ascii_only = joined.isascii()
    matched = []
    for rule in SAFETY_RULES:
        if rule.non_ascii and ascii_only:
            continue
        if rule.keywords is not None and not any(k in joined for k in rule.keywords):
            continue
        if rule.pattern.search(joined):
            matched.append(rule)
    return matched


def safety_score(texts: list[str]) -> int:
    """min(100, the sum of the weights of the rules matched)."""
    return min(100, sum(rule.weight for rule in safety_matches(texts)))


# -- the entry point ----------------------------------------------------------------------------------------------
@dataclass
class GuardResult:
    pii_counts: dict[str, int]  # category -> values masked in this call (only categories > 0)
    safety_score: int  # 0..100


def _actions(pii_policy: dict[str, str]) -> dict[str, str]:
    """The categories on (mask or block); an unknown category or action is a bug upstream (the platform validates)."""
    on = {}
    for category, action in (pii_policy or {}).items():
        if category not in PRIORITY:
            raise ValueError(f"unknown PII category {category!r}")
        if action not in ACTIONS:
            raise ValueError(f"unknown PII action {action!r} for {category}")
        if action != "off":
            on[category] = action
    return on


def guard_request(kind: str, data: dict, pii_policy: dict[str, str]) -> GuardResult:
    """Scores the call, then masks or refuses its personal data per the policy (module docstring). Mutates `data`.
    Raises nothing but GatewayError on any body (and ValueError on a policy the platform would not send)."""
    actions = _actions(pii_policy)
    texts = collect_texts(kind, data)
    originals = [holder[key] for holder, key, _ in texts.slots]
    score = safety_score(originals)
    if not actions:
        return GuardResult({}, score)
    if texts.unscannable:
        path, part = texts.unscannable[0]
        name = _path_parts(path)[0]
        raise GatewayError(
            400,
            f"This account's data protection policy checks every text a call sends, and {_path(path)} ({part}) "
            "cannot be read as text. Send it as text, or ask the account's owner to turn the PII guardrails off.",
            "invalid_request_error", code="pii_unscannable", param=str(name))
    # Detection first, everywhere, so a refusal leaves the body as it came.
    plans: list[tuple[tuple[Any, Any, Path_], list[Candidate]]] = []
    for index, candidates in sorted(find_candidates_in(originals).items()):
        slot = texts.slots[index]
        kept = [c for c in resolve(candidates) if c.category in actions]
        masked = [c for c in kept if actions[c.category] == "mask"]
        blocked = next((c for c in kept if actions[c.category] == "block"), None)
        if blocked is None and masked:
            # Block beats mask: a "block" candidate under a kept "mask" value still refuses the call.
            blocked = next((c for c in candidates if actions.get(c.category) == "block"
                            and any(c.start < m.end and m.start < c.end for m in masked)), None)
        if blocked is not None:
            raise GatewayError(
                400,
                f"{_path(slot[2])} contains {NAMES[blocked.category]}, which this account's data protection policy "
                f"does not allow to be sent (category {blocked.category}). Remove it and retry.",
                "invalid_request_error", code="pii_blocked", param=str(_path_parts(slot[2])[0]))
        if masked:
            plans.append((slot, masked))
    counts: dict[str, int] = {}
    placeholders: dict[tuple[str, str], str] = {}
    numbers: dict[str, int] = {}
    for (holder, key, _), masked in plans:
        text = holder[key]
        out = []
        at = 0
        for c in masked:
            value = _normalized(c.category, text[c.start:c.end])
            placeholder = placeholders.get((c.category, value))
            if placeholder is None:
                numbers[c.category] = numbers.get(c.category, 0) + 1
                placeholder = f"[{LABELS[c.category]}_{numbers[c.category]}]"
                placeholders[(c.category, value)] = placeholder
            out.append(text[at:c.start])
            out.append(placeholder)
            at = c.end
            counts[c.category] = counts.get(c.category, 0) + 1
        out.append(text[at:])
        holder[key] = "".join(out)
    return GuardResult(counts, score)


# Above this many characters of text (or a sixteenth as many strings and containers) a call is guarded in a worker
# thread. The thread holds the GIL while it runs, so the event loop only gains from it once the work outlasts the
# interpreter's switch interval (5 ms): about 64 KB of text (3 ms with every category off, 14 ms with every one on,
# bench/guard.py), while a thread handoff costs about 75 µs, more than guarding a 1 KB call with every category off.
INLINE_LIMIT = 64 * 1024


def texts_larger_than(kind: str, data: dict, limit: int) -> bool:
    """Whether the fields the guard reads hold more than `limit` characters of strings, or more than limit / 16
    strings and containers: counted until the limit is passed, so a large body stops the count early."""
    read = READ_FIELDS[kind]
    stack = [value for name, value in data.items() if name in read]
    chars = 0
    nodes = 0
    node_limit = limit // 16
    while stack:
        node = stack.pop()
        nodes += 1
        if isinstance(node, str):
            chars += len(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        if chars > limit or nodes > node_limit:
            return True
    return False


async def guard_call(kind: str, data: dict, pii_policy: dict[str, str]) -> GuardResult:
    """guard_request, inline for a small call (no thread handoff), in a worker thread for a large one, so a large or
    hostile body does not stall the other calls of the event loop for its whole scan."""
    if texts_larger_than(kind, data, INLINE_LIMIT):
        return await asyncio.to_thread(guard_request, kind, data, pii_policy)
    return guard_request(kind, data, pii_policy)
