// Customer usage webhooks through the real gateway (issue 28): calls made with the official openai client are charged
// by the platform, and each charge reaches the customer's endpoints as a call.charged event verified with the Standard
// Webhooks reference library. One receiver answers 500 at first, then 200: every event is delivered, none lost or
// made up, in call-time order, each keeping its webhook-id across attempts; another endpoint takes batches of three.
// The app runs `next start` (NODE_ENV production) with WEBHOOK_ALLOW_PRIVATE_TARGETS, so its plain-HTTP local
// receivers are allowed; the production refusals are tests/integration/customer-webhooks.test.ts's.
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_CRON_SECRET, TEST_KEY_PEPPER } from "../stack/start";

// The endpoint's secret is sealed here as the app seals it: with the app's key pepper (lib/webhooks/secret.ts).
process.env.KEY_PEPPER = TEST_KEY_PEPPER;

const { createEndpoint } = await import("@/lib/webhooks/endpoints");
const { startReceiver } = await import("../helpers/webhook-receiver");
const { customer, startGatewayStack } = await import("./helpers");

const ctx = startGatewayStack(
  "gateway-customer-webhooks",
  { app: 3230, pg: 25610, litellm: 4161, upstream: 4171 },
  { WEBHOOK_ALLOW_PRIVATE_TARGETS: "true" },
);

/** How many requests the flaky receiver refuses before it recovers. */
const FAILS = 2;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;
let flaky: Receiver;
let batching: Receiver;
beforeAll(async () => {
  flaky = await startReceiver();
  batching = await startReceiver();
});
afterAll(async () => {
  await flaky?.close();
  await batching?.close();
});

/** The cron's tick, as Vercel (or the local runner) calls it: schedules due endpoints and drains the queue. */
async function tick() {
  const res = await fetch(`${ctx.stack.appUrl}/api/cron/drain`, {
    headers: { authorization: `Bearer ${TEST_CRON_SECRET}` },
  });
  expect(res.status).toBe(200);
}

describe("call.charged through the gateway", () => {
  it("reaches each endpoint for every charged call, in call order, after the receiver recovers", async () => {
    const c = await customer(ctx, 5_000_000n);
    const actor = { userId: c.userId, kind: "user" as const, role: "developer" as const };
    const one = await createEndpoint(ctx.sql, actor, {}, { url: flaky.url, eventTypes: ["call.charged"] });
    const batched = await createEndpoint(
      ctx.sql,
      actor,
      {},
      {
        url: batching.url,
        eventTypes: ["call.charged"],
        batchMax: 3,
      },
    );
    // The flaky receiver fails its first FAILS requests (500), then answers 200 (the retries come 5 s and 20 s later).
    flaky.answer = (_req, index) =>
      index < FAILS ? { status: 500, body: "not yet" } : { status: 200, body: "ok" };

    const calls: string[] = [];
    for (let i = 0; i < 7; i++) {
      const stream = i % 3 === 2;
      if (stream) {
        const res = await c.client.chat.completions
          .create({
            model: "fake-small",
            messages: [{ role: "user", content: `call ${i}` }],
            max_tokens: 20,
            stream: true,
          })
          .withResponse();
        for await (const _chunk of res.data) {
          // read the stream to its end
        }
        calls.push(res.response.headers.get("x-litellm-call-id")!);
      } else {
        const res = await c.client.chat.completions
          .create({ model: "fake-small", messages: [{ role: "user", content: `call ${i}` }], max_tokens: 20 })
          .withResponse();
        calls.push(res.response.headers.get("x-litellm-call-id")!);
      }
    }

    // Tick like the cron until every call is settled and both receivers have every event (the flaky one's
    // first event holds the line until its retry succeeds, so the order is kept).
    const deadline = Date.now() + 120_000;
    const secretOf = (r: Receiver) => (r === flaky ? one.secret : batched.secret);
    /** The events a receiver accepted (answered 2xx), each request verified, batches flattened. */
    const accepted = (r: Receiver, from: number) =>
      r.received.slice(from).flatMap((req) => {
        const verified = new Webhook(secretOf(r)).verify(req.body, req.headers);
        return Array.isArray(verified) ? verified : [verified];
      });
    for (;;) {
      await tick();
      const okFlaky = accepted(flaky, FAILS);
      const okBatched = accepted(batching, 0);
      if ((okFlaky.length >= calls.length && okBatched.length >= calls.length) || Date.now() > deadline)
        break;
      await new Promise((r) => setTimeout(r, 1_000));
    }

    const usage = await ctx.sql<
      {
        call_id: string;
        revenue_micros: bigint;
        ledger_transaction_id: string;
        started_at: Date;
        prompt_tokens: number;
        completion_tokens: number;
      }[]
    >`
      select call_id, revenue_micros, ledger_transaction_id, started_at, prompt_tokens, completion_tokens
      from usage_events where key_id = ${c.id} order by started_at, id`;
    expect(usage.map((u) => u.call_id).sort()).toEqual([...calls].sort());
    expect(usage.every((u) => u.revenue_micros > 0n)).toBe(true);
    const inCallOrder = usage.map((u) => u.call_id);

    // Every request either receiver got verifies with the reference library under its endpoint's secret.
    for (const r of [flaky, batching])
      for (const req of r.received)
        expect(() => new Webhook(secretOf(r)).verify(req.body, req.headers)).not.toThrow();

    // The flaky endpoint: FAILS 500s for the first event (the same webhook-id each time), then each event once, in order.
    const flakyEvents = flaky.received.map(
      (req) => new Webhook(one.secret).verify(req.body, req.headers) as any,
    );
    expect(flakyEvents.slice(0, FAILS).map((e) => e.id)).toEqual(Array(FAILS).fill(flakyEvents[FAILS].id));
    expect(flaky.received.slice(0, FAILS + 1).map((req) => req.headers["webhook-id"])).toEqual(
      Array(FAILS + 1).fill(flakyEvents[FAILS].id),
    );
    const flakyAccepted = flakyEvents.slice(FAILS);
    expect(flakyAccepted.map((e) => e.data.callId)).toEqual(inCallOrder);
    expect(new Set(flakyAccepted.map((e) => e.id)).size).toBe(calls.length);
    // Each event's charge is the call's, to the micro-USD, with its ledger transaction and units.
    for (const [i, e] of flakyAccepted.entries()) {
      const u = usage[i]!;
      expect(e).toMatchObject({
        type: "call.charged",
        data: {
          callId: u.call_id,
          chargeMicros: Number(u.revenue_micros),
          // A first charge: its ledger transaction took the whole charge, nothing was charged before.
          ledgerAmountMicros: Number(u.revenue_micros),
          previousChargeMicros: 0,
          ledgerTransactionId: u.ledger_transaction_id,
          billingStatus: "exact",
          model: "fake-small",
          units: { input: u.prompt_tokens, output: u.completion_tokens },
          member: { userId: c.userId },
          key: { id: c.id },
        },
      });
      expect(e.timestamp).toBe(u.started_at.toISOString());
      expect(JSON.stringify(e)).not.toMatch(/cost/i);
    }
    const charged = usage.reduce((s, u) => s + u.revenue_micros, 0n);
    expect(flakyAccepted.reduce((s, e) => s + BigInt(e.data.chargeMicros), 0n)).toBe(charged);

    // The batching endpoint: arrays of at most three, every event once, in call order.
    const batches = batching.received.map(
      (req) => new Webhook(batched.secret).verify(req.body, req.headers) as any[],
    );
    expect(batches.every((b) => Array.isArray(b) && b.length >= 1 && b.length <= 3)).toBe(true);
    const batchedEvents = batches.flat();
    expect(batchedEvents.map((e) => e.data.callId)).toEqual(inCallOrder);
    expect(batchedEvents.map((e) => e.id)).toEqual(flakyAccepted.map((e) => e.id));

    // The delivery log says the same: FAILS failed attempts then successes; nothing pending.
    const attempts = await ctx.sql<{ ok: boolean; status_code: number; latency_ms: number }[]>`
      select ok, status_code, latency_ms from webhook_attempts where endpoint_id = ${one.endpoint.id} order by id`;
    expect(attempts.map((a) => a.status_code)).toEqual([
      ...Array(FAILS).fill(500),
      ...Array(calls.length).fill(200),
    ]);
    const [pending] = await ctx.sql<{ n: number }[]>`
      select count(*)::int as n from webhook_deliveries d join webhook_endpoints w on w.id = d.endpoint_id
      where w.account_id = ${c.accountId} and d.status <> 'delivered'`;
    expect(pending!.n).toBe(0);
  });
});
