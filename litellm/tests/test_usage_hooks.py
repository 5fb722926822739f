"""The success and failure hooks' events reach the outbox and finish their draws, whatever LiteLLM's logging worker
does to the hook (cancels it at its timeout, runs it from atexit), and a stream keeps what its cut would be charged
for without holding objects nothing else holds."""

import asyncio
import os
import sqlite3
import subprocess
import threading
import types

import httpx
from litellm.litellm_core_utils.logging_worker import LoggingWorker

from tests.test_leases import KEY_ID, Platform, book, settings
from tollgate_litellm.billing import STATE, TollgateBilling
from tollgate_litellm.outbox import Outbox
from tollgate_litellm.platform import PlatformClient

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def success_kwargs(billing, call_id, draw, prompt_tokens):
    state = {"keyId": KEY_ID, "callId": call_id, "holdId": "", "leaseId": draw.lease_id, "drawMicros": draw.micros,
             "promptTokens": 100, "model": "fake-small", "startedAt": "2026-01-01T00:00:00.000Z", "delivered": [],
             "kind": "chat"}
    state["sig"] = billing._sign(state)
    return {"litellm_call_id": call_id, "litellm_params": {"metadata": {STATE: state}},
            "standard_logging_object": {"model_group": "fake-small", "prompt_tokens": prompt_tokens,
                                        "completion_tokens": 50,
                                        "metadata": {"user_api_key_auth_metadata": {"tollgate_key_id": KEY_ID}}}}


USAGE = types.SimpleNamespace(usage=types.SimpleNamespace(prompt_tokens_details=None))


async def test_a_hook_cancelled_at_the_logging_workers_timeout_still_finishes_its_draw_and_stops_an_overrun_lease(tmp_path):
    platform = Platform(1_000_000)
    leases = book(platform, idle_seconds=0.0)
    s = settings()
    outbox = Outbox(str(tmp_path / "o.db"), s.platform_url, "w" * 40,
                    transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})))
    billing = TollgateBilling(s, outbox, PlatformClient(s, transport=httpx.MockTransport(platform.handler)), leases)
    draw = await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    lease = leases.leases[KEY_ID]
    worker = LoggingWorker(timeout=0.3)
    worker.start()
    busy = threading.Event()
    outbox._io.submit(busy.wait)  # the file is slower than the worker's timeout
    # Usage far above the draw (an upstream billing past the call's bound, clause 46).
    worker.enqueue(billing.async_log_success_event(success_kwargs(billing, "c1", draw, 100_000), USAGE, None, None))
    await asyncio.sleep(0.6)
    busy.set()
    for _ in range(50):
        await asyncio.sleep(0.01)
        if "c1" not in lease.inflight:
            break
    assert len(outbox.find(KEY_ID, "c1")) == 1
    assert "c1" not in lease.inflight
    assert lease.retired
    await worker.stop()
    await outbox.aclose()


async def test_an_overrun_stops_its_lease_and_pauses_the_key_before_its_event_is_committed(tmp_path):
    # Found under load: the check waited for the outbox's commit, and calls started meanwhile drew from the lease of
    # an account already in deficit (clause 46). The usage is known when the hook runs: the lease stops then.
    platform = Platform(1_000_000)
    leases = book(platform, idle_seconds=0.0)
    s = settings()
    outbox = Outbox(str(tmp_path / "p.db"), s.platform_url, "w" * 40,
                    transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})))
    billing = TollgateBilling(s, outbox, PlatformClient(s, transport=httpx.MockTransport(platform.handler)), leases)
    draw = await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    lease = leases.leases[KEY_ID]
    busy = threading.Event()
    outbox._io.submit(busy.wait)  # the outbox's file is slow: nothing commits until it is set
    await billing.async_log_success_event(success_kwargs(billing, "c1", draw, 100_000), USAGE, None, None)
    assert lease.retired  # before any commit
    assert KEY_ID in leases._paused and not leases._paused[KEY_ID].done()
    assert "c1" in lease.inflight  # its draw finishes once the event is durable
    busy.set()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if "c1" not in lease.inflight:
            break
    assert "c1" not in lease.inflight and len(outbox.find(KEY_ID, "c1")) == 1
    await outbox.aclose()


async def test_a_legacy_completion_stream_keeps_its_text_and_a_chat_stream_its_chunks(tmp_path):
    import litellm

    platform = Platform(1_000_000)
    s = settings()
    outbox = Outbox(str(tmp_path / "s.db"), s.platform_url, "w" * 40,
                    transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})))
    billing = TollgateBilling(s, outbox, PlatformClient(s, transport=httpx.MockTransport(platform.handler)))
    for kind in ("completion", "chat"):
        state = {"keyId": KEY_ID, "callId": kind, "holdId": "h", "leaseId": "", "drawMicros": 0, "promptTokens": 9,
                 "model": "gpt-4o", "startedAt": "2026-01-01T00:00:00.000Z", "delivered": [], "kind": kind}
        state["sig"] = billing._sign(state)
        text = " ".join(f"w{i}" for i in range(50))
        if kind == "chat":
            response = await litellm.acompletion(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                 mock_response=text, stream=True)
        else:
            response = await litellm.atext_completion(model="gpt-3.5-turbo-instruct", prompt="hi",
                                                      mock_response=text, stream=True)
        async for _ in billing.async_post_call_streaming_iterator_hook(None, response, {"metadata": {STATE: state}}):
            pass
        if kind == "completion":
            assert "chunks" not in state and all(isinstance(t, str) for t in state["delivered"])
            assert "".join(state["delivered"]).strip() == text
        else:
            assert state["delivered"] == [] and len(state["chunks"]) > 1
        assert "firstTokenAt" in state
    await outbox.aclose()


EXIT_SCRIPT = r'''
import asyncio, os, sys, types
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import httpx
from litellm.litellm_core_utils.logging_worker import LoggingWorker
from tollgate_litellm.billing import STATE, TollgateBilling
from tollgate_litellm.outbox import Outbox
from tollgate_litellm.platform import PlatformClient
from tollgate_litellm.settings import Settings

KEY = "11111111-1111-4111-8111-111111111111"
path, n = sys.argv[1], int(sys.argv[2])
s = Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100)
outbox = Outbox(path, s.platform_url, "w" * 40, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
billing = TollgateBilling(s, outbox, PlatformClient(s, transport=httpx.MockTransport(lambda r: httpx.Response(200))))

def kwargs(i):
    state = {"keyId": KEY, "callId": f"c{i}", "holdId": "h", "leaseId": "", "drawMicros": 0, "promptTokens": 9,
             "model": "fake-small", "startedAt": "2026-01-01T00:00:00.000Z", "delivered": []}
    state["sig"] = billing._sign(state)
    return {"litellm_call_id": f"c{i}", "litellm_params": {"metadata": {STATE: state}},
            "standard_logging_object": {"model_group": "fake-small", "prompt_tokens": 1, "completion_tokens": 1,
                                        "metadata": {"user_api_key_auth_metadata": {"tollgate_key_id": KEY}}}}

usage = types.SimpleNamespace(usage=types.SimpleNamespace(prompt_tokens_details=None))
worker = LoggingWorker()

async def main():
    worker.start()
    await asyncio.sleep(0)
    for i in range(n):
        worker.enqueue(billing.async_log_success_event(kwargs(i), usage, None, None))

asyncio.run(main())  # the loop ends with the callbacks still queued: LiteLLM runs them from atexit
'''


def test_events_of_callbacks_litellm_runs_at_exit_are_stored(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(EXIT_SCRIPT)
    path = str(tmp_path / "exit.db")
    proc = subprocess.run([os.path.join(HERE, ".venv", "bin", "python"), str(script), path, "150"], cwd=HERE,
                          env={**os.environ, "PYTHONPATH": HERE}, capture_output=True, text=True, timeout=120)
    db = sqlite3.connect(path)
    try:
        (stored,) = db.execute("select count(*) from events").fetchone()
    finally:
        db.close()
    assert stored == 150, proc.stderr[-2000:]
    assert "could not record a usage event" not in proc.stderr
