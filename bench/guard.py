"""Throughput of the gateway's guardrails (litellm/tollgate_litellm/guard.py) on hostile inputs: MB/s per input.

Run from the repository's root: litellm/.venv/bin/python bench/guard.py [--mb 16] [--only NAME]
Each input is one call's body of about --mb megabytes of text; the figures go to docs/benchmarks.md by hand.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "litellm"))

from tollgate_litellm.errors import GatewayError  # noqa: E402
from tollgate_litellm.guard import guard_request  # noqa: E402

ALL_MASK = {c: "mask" for c in ("email", "phone", "card", "iban", "gov_id", "ip", "secret")}
EMAIL_MASK = {"email": "mask"}


def one_text(unit: str):
    return lambda size: {"model": "m", "messages": [{"role": "user", "content": unit * max(1, size // len(unit))}]}


def many_parts(size: int) -> dict:
    parts = [{"type": "text", "text": "x"} for _ in range(size // 27)]  # ~27 bytes of JSON per part
    return {"model": "m", "messages": [{"role": "user", "content": parts}]}


CASES = {
    # name: (body builder, policy)
    "pem_headers": (one_text("-----BEGIN PRIVATE KEY-----."), EMAIL_MASK),
    "pem_headers_nl": (one_text("-----BEGIN PRIVATE KEY-----\n"), EMAIL_MASK),
    "safety_dual_off": (one_text("2 answers normal "), {}),
    "safety_ignore_off": (one_text("ignore previous "), {}),
    "plain_off": (one_text("hello world "), {}),
    "plain_mask": (one_text("hello world "), ALL_MASK),
    "near_miss_cards": (one_text("4111 1111 1111 1112 "), ALL_MASK),
    "digit_runs": (one_text("1234567 "), ALL_MASK),
    "phone_groups": (one_text("+1 2 3 4 5 6 7 8 "), ALL_MASK),
    "zero_groups": (one_text("0 1 2 3 "), ALL_MASK),
    "ipv6_near_miss": (one_text("1:2:3:4:5:6:7 "), ALL_MASK),
    "emails": (one_text("a@b.co "), ALL_MASK),
    "at_labels": (one_text("@a.a.a.a.a.a.a.a.a1 "), ALL_MASK),
    "iban_groups": (one_text("GB82 WEST 1234 5698 7654 33 "), ALL_MASK),
    "fullwidth_digits": (one_text("４１１１ １１１１ "), ALL_MASK),
    "zero_width": (one_text("a\u200bb@c.io "), ALL_MASK),
    "arabic_digits": (one_text("4١١١ ١١١١ "), ALL_MASK),
    "many_parts_off": (many_parts, {}),
    "many_parts_mask": (many_parts, ALL_MASK),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=1.0)
    parser.add_argument("--only", action="append")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    for name, (build, policy) in CASES.items():
        if args.only and name not in args.only:
            continue
        body = build(size)
        started = time.perf_counter()
        try:
            result = guard_request("chat", body, policy)
            outcome = f"score {result.safety_score}, masked {sum(result.pii_counts.values())}"
        except GatewayError as error:
            outcome = f"refused {error.openai_code}"
        elapsed = time.perf_counter() - started
        print(f"{name:20} {args.mb:6.2f} MB {elapsed:8.3f} s {args.mb / elapsed:8.2f} MB/s  {outcome}", flush=True)


if __name__ == "__main__":
    main()
