"""
The gateway's guardrails on what a call sends (issue 30, parts 4 and 5): personal data found in every text of the
request is masked or refused per category as the account's PII policy says, and a prompt-injection / jailbreak score
is computed on every call. Pure: no LiteLLM call, no I/O but the rules file read once at import.

`guard_request(kind, data, pii_policy)`:
- collects every text the call sends (per kind, below), leaving identifiers (role, type, id, call_id, tool_call_id,
  tool_use_id, model, name), base64 payloads (image data, audio data, file data) and URLs alone;
- scores the original texts against safety_rules.json (always, whatever the policy);
- with every category off, changes and refuses nothing;
- with a category on (mask or block), refuses (400 pii_unscannable) a part it cannot read, so cannot check: token-id
  inputs (embedding `input`, completion `prompt` as integer arrays), chat `file` and `input_audio` parts, Responses
  `input_file` parts, Messages `document` blocks (and video/audio parts of any kind). Images are allowed: text inside
  an image is not checked (there is no OCR here), which is stated in the README;
- finds the candidates of every category in every text, keeps non-overlapping ones by priority (secret > card > iban >
  email > ip > gov_id > phone, then earliest, then longest; a candidate wholly inside a longer one yields to it, so an
  IBAN's digits are never taken for a card); a kept value of a "block" category, or a "block" candidate
  overlapping a kept "mask" value, refuses the call (400 pii_blocked, naming the category, never the value) before
  anything is changed; otherwise each kept value of a "mask" category is replaced by a placeholder that is stable per
  value within the call (`[EMAIL_1]`, `[EMAIL_2]`, `[CARD_1]`…), in place, and counted.

Texts, per kind: chat `messages` (string content, text parts, tool results, assistant tool-call `arguments`, any other
string a message carries that is not an identifier); Responses `input` (a string or items: message content strings and
text parts, `function_call` arguments, `function_call_output` output) and `instructions`; Messages `system` (a string
or text blocks) and `messages` content (text blocks, `tool_result` content, `tool_use` input: every string value of it,
recursively; its keys are left as they are); embedding `input`; completion `prompt` and `suffix`; image `prompt`; speech
`input` and `instructions`; transcription `prompt` (the form's `file` is left alone).

Not covered (stated in the README): values spelled to evade a pattern ("john at example dot com"), values split across
two texts, values written with JSON escapes inside a JSON-encoded `arguments` string, text inside images.
"""

from __future__ import annotations

import ipaddress
import json
import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import contract
from .errors import GatewayError

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

# What the texts of each kind are read from.
TEXT_FIELDS = {
    "chat": ("messages",),
    "responses": ("input", "instructions"),
    "messages": ("system", "messages"),
    "embedding": ("input",),
    "completion": ("prompt", "suffix"),
    "image": ("prompt",),
    "speech": ("input", "instructions"),
    "transcription": ("prompt",),
}
if set(TEXT_FIELDS) != set(contract.CALL_KINDS):
    raise RuntimeError(f"guard.py: text fields for {sorted(TEXT_FIELDS)}, contract kinds {sorted(contract.CALL_KINDS)}")
# Kinds whose field may be token ids instead of text (a token array or an array of them).
TOKEN_FIELDS = {("embedding", "input"), ("completion", "prompt")}

# Keys whose values are identifiers, opaque payloads or URLs, not text (outside a tool's own input, where every
# string is the app's data).
NOT_TEXT_KEYS = frozenset({
    "role", "type", "id", "call_id", "tool_call_id", "tool_use_id", "model", "name", "url", "image_url", "data",
    "file_data", "file_id", "file_url", "filename", "media_type", "mime_type", "format", "detail", "cache_control",
    "signature", "encrypted_content", "status", "index",
})
# Parts sent as media: images are allowed (not checked), the others refused when a category is on.
IMAGE_TYPES = frozenset({"image_url", "input_image", "image", "computer_screenshot"})
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


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    category: str


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


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
    if sum(1 for g in re.split(r"[:.]", value) if g) < 2 or not any(c.isdigit() for c in value):
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


DIGIT_RUN = re.compile(r"\d+")
DATE_LIKE = re.compile(r"0\d[./-][01]\d[./-](?:19|20)\d\d")


def _e164(m: re.Match[str]) -> Span | None:
    return _phone_groups(m, 8, 15)  # E.164: country code and number, 8–15 digits in all


def _national(m: re.Match[str]) -> Span | None:
    if DATE_LIKE.match(m.group()):  # 01.02.2024 1234 is a date and a number
        return None
    return _phone_groups(m, 10, 12)


def _has_letter_and_digit(m: re.Match[str]) -> Span | None:
    # sk-…: a key mixes letters and digits; a slug ("sk-learn-is-a-python-library") has no digit.
    body = m.group()[3:]
    return m.span() if any(c.isdigit() for c in body) and any(c.isalpha() for c in body) else None


def _regex_finder(pattern: str, check: Callable[[re.Match[str]], Span | None] | None = None,
                  needs: str | None = None, flags: int = 0) -> Callable[[str], Iterator[Span]]:
    """Candidates of one pattern. A match its check trims resumes the search where the value ended (the word after an
    IBAN may hold the next one); a match its check rejects resumes one character later."""
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
    Detector("secret", _regex_finder(
        r"-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----(?:[^\x00]{0,200000}?-----END (?:[A-Z0-9]{1,16} ){0,3}"
        r"PRIVATE KEY-----|[A-Za-z0-9+/=\s\\:,-]{0,200000}+)", needs="PRIVATE KEY")),
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


def find_candidates_in(texts: list[str]) -> list[list[Candidate]]:
    """Every candidate value of every category in each text (overlapping ones included). The texts are scanned joined
    by NULs, one pass per pattern (thousands of short texts cost one scan, not thousands of calls); no pattern matches
    across a NUL, so each candidate lies inside one text."""
    joined = "\x00".join(texts)
    starts = []
    at = 0
    for text in texts:
        starts.append(at)
        at += len(text) + 1
    found: list[list[Candidate]] = [[] for _ in texts]
    for detector in DETECTORS:
        for start, end in detector.find(joined):
            i = bisect_right(starts, start) - 1
            base = starts[i]
            if end <= base + len(texts[i]):
                found[i].append(Candidate(start - base, end - base, detector.category))
    return found


def find_candidates(text: str) -> list[Candidate]:
    return find_candidates_in([text])[0]


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
    if category in ("card", "phone"):
        return _digits(value)
    if category == "iban":
        return value.replace(" ", "").upper()
    if category == "email":
        return value.lower()
    return value


# -- the texts a call sends ---------------------------------------------------------------------------------------
@dataclass
class Slot:
    """A string in the body: holder[key] is the text; path names it in messages (messages[2].content[0].text)."""

    holder: Any
    key: Any
    path: tuple[Any, ...]

    @property
    def text(self) -> str:
        return self.holder[self.key]


@dataclass
class Texts:
    slots: list[Slot] = field(default_factory=list)
    unscannable: list[tuple[tuple[Any, ...], str]] = field(default_factory=list)


def _path(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _walk(node: Any, holder: Any, key: Any, path: tuple[Any, ...], texts: Texts, free: bool, depth: int) -> None:
    """Collects the strings of a body part. `free`: inside a tool's own input, where every string is the app's data."""
    if isinstance(node, str):
        texts.slots.append(Slot(holder, key, path))
        return
    if depth > MAX_DEPTH:
        texts.unscannable.append((path, "deeply nested"))
        return
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, (str, list, dict)):
                _walk(item, node, i, path + (i,), texts, free, depth + 1)
        return
    if not isinstance(node, dict):
        return
    if free:
        for k, value in node.items():
            if isinstance(value, (str, list, dict)):
                _walk(value, node, k, path + (k,), texts, True, depth + 1)
        return
    kind = node.get("type")
    if isinstance(kind, str):
        if kind in IMAGE_TYPES:
            return
        if kind in UNSCANNABLE_TYPES:
            texts.unscannable.append((path, kind))
            return
    for k, value in node.items():
        if k in NOT_TEXT_KEYS or not isinstance(value, (str, list, dict)):
            continue
        free_input = k == "input" and kind in FREE_INPUT_TYPES
        _walk(value, node, k, path + (k,), texts, free_input, depth + 1)


def _is_tokens(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(t, int) for t in value)


def collect_texts(kind: str, data: dict) -> Texts:
    """Every text the call sends, and the parts that cannot be read as text."""
    texts = Texts()
    for name in TEXT_FIELDS[kind]:
        value = data.get(name)
        if value is None:
            continue
        if (kind, name) in TOKEN_FIELDS and isinstance(value, list):
            if _is_tokens(value):
                texts.unscannable.append(((name,), "token ids"))
                continue
            for i, item in enumerate(value):
                if _is_tokens(item):
                    texts.unscannable.append(((name, i), "token ids"))
        if isinstance(value, (str, list, dict)):
            _walk(value, data, name, (name,), texts, False, 0)
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


def safety_matches(texts: list[str]) -> list[SafetyRule]:
    """The rules the texts match, each once: one search per rule over all texts, lower-cased, joined; a rule whose
    keywords none of them holds is not searched."""
    joined = TEXT_SEPARATOR.join(texts).lower()
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


def _iter_texts(slots: list[Slot]) -> Iterator[str]:
    for slot in slots:
        yield slot.text


def guard_request(kind: str, data: dict, pii_policy: dict[str, str]) -> GuardResult:
    """Scores the call, then masks or refuses its personal data per the policy (module docstring). Mutates `data`."""
    actions = _actions(pii_policy)
    texts = collect_texts(kind, data)
    originals = list(_iter_texts(texts.slots))
    score = safety_score(originals)
    if not actions:
        return GuardResult({}, score)
    if texts.unscannable:
        path, part = texts.unscannable[0]
        raise GatewayError(
            400,
            f"This account's data protection policy checks every text a call sends, and {_path(path)} ({part}) "
            "cannot be read as text. Send it as text, or ask the account's owner to turn the PII guardrails off.",
            "invalid_request_error", code="pii_unscannable", param=str(path[0]))
    # Detection first, everywhere, so a refusal leaves the body as it came.
    plans: list[tuple[Slot, list[Candidate]]] = []
    for slot, candidates in zip(texts.slots, find_candidates_in(originals)):
        if not candidates:
            continue
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
                f"{_path(slot.path)} contains {NAMES[blocked.category]}, which this account's data protection policy "
                f"does not allow to be sent (category {blocked.category}). Remove it and retry.",
                "invalid_request_error", code="pii_blocked", param=str(slot.path[0]))
        if masked:
            plans.append((slot, masked))
    counts: dict[str, int] = {}
    placeholders: dict[tuple[str, str], str] = {}
    numbers: dict[str, int] = {}
    for slot, masked in plans:
        text = slot.text
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
        slot.holder[slot.key] = "".join(out)
    return GuardResult(counts, score)
