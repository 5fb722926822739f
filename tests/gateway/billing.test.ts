// Billing through the real gateway: holds before calls, usage webhooks after, charged on the numbers.
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { clearOfMidnight } from "../helpers/clock";
import { priceTokens } from "../helpers/price";
import { signal } from "../helpers/signal";
import {
  addTestModels,
  balanceOf,
  failure,
  MASTER_KEY,
  customer as makeCustomer,
  settledBalance,
  startGatewayStack,
  unexpectedFailures,
  usageRowsOf,
} from "./helpers";

const ctx = startGatewayStack(
  "gateway-billing",
  { app: 3201, pg: 25432, litellm: 4102, upstream: 4112 },
  undefined,
  {
    // The per-call hold path (TOLLGATE_BILLING_MODE=hold), kept as the fallback; the lease path: leases.test.ts.
    TOLLGATE_BILLING_MODE: "hold",
  },
);
const PRICE = { input: 500_000n, output: 1_500_000n }; // the demo price of fake-small (and the test models)
const messages = [{ role: "user" as const, content: "How are calls billed?" }];
/** The gateway's prompt bound of a chat body holding only these messages (bounds.py): compact JSON bytes + 16 + 4 each. */
const promptBound = (m: unknown[]) => Buffer.byteLength(JSON.stringify({ messages: m })) + 16 + 4 * m.length;

beforeAll(async () => {
  // The failure-injection models, in the catalog with the same price as fake-small.
  await addTestModels(ctx, ["fake-error-500", "fake-timeout", "fake-cut"]);
});

const customer = (balanceMicros: bigint) => makeCustomer(ctx, balanceMicros);
const balance = (accountId: string) => balanceOf(ctx, accountId);
const usageRows = (keyId: string, count: number, timeoutMs?: number) =>
  usageRowsOf(ctx, keyId, count, timeoutMs);

describe("billing through the gateway", () => {
  it("charges price book × the upstream's reported tokens, to the micro-USD (non-stream)", async () => {
    const c = await customer(1_000_000n);
    const { data, response } = await c.client.chat.completions
      .create({ model: "fake-small", messages, max_tokens: 40 })
      .withResponse();
    const [row] = await usageRows(c.id, 1);
    expect(row!.call_id).toBe(response.headers.get("x-litellm-call-id"));
    expect(row).toMatchObject({ status: "success", billing_status: "exact", stream: false });
    expect([row!.prompt_tokens, row!.completion_tokens]).toEqual([
      data.usage!.prompt_tokens,
      data.usage!.completion_tokens,
    ]);
    const expected = priceTokens(
      { input: data.usage!.prompt_tokens, output: data.usage!.completion_tokens },
      PRICE,
    );
    expect(row!.revenue_micros).toBe(expected);
    expect(await balance(c.accountId)).toEqual({ balance_micros: 1_000_000n - expected, held_micros: 0n });
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
    // The response tells the app what the call reserved and what was left for other calls.
    const [hold] = await ctx.sql<
      { amount_micros: bigint }[]
    >`select amount_micros from holds where call_id = ${row!.call_id}`;
    expect(response.headers.get("x-tollgate-hold-micros")).toBe(String(hold!.amount_micros));
    // What it reserved is the prompt's bound (the body's input bytes + 16 per request + 4 per message, bounds.py) and
    // max_tokens, at the price book.
    expect(hold!.amount_micros).toBe(priceTokens({ input: promptBound(messages), output: 40 }, PRICE));
    expect(hold!.amount_micros).toBeGreaterThanOrEqual(expected);
    expect(response.headers.get("x-tollgate-available-micros")).toBe(
      String(1_000_000n - hold!.amount_micros),
    );
  });

  it("charges a stream for the usage in its last chunk", async () => {
    const c = await customer(1_000_000n);
    const stream = await c.client.chat.completions.create({
      model: "fake-small",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    const [row] = await usageRows(c.id, 1);
    const expected = priceTokens({ input: usage!.prompt_tokens, output: usage!.completion_tokens }, PRICE);
    expect(row).toMatchObject({
      status: "success",
      billing_status: "exact",
      stream: true,
      revenue_micros: expected,
    });
    expect(await balance(c.accountId)).toEqual({ balance_micros: 1_000_000n - expected, held_micros: 0n });
  });

  // What the burst must show is what each call ends as and what is charged, not how fast: a fresh-clone run on a
  // loaded 2-core host saw 178 of the 200 wait past the usual client's 20 s. The client waits as long as the slowest
  // call takes, and the test's timeout is to match.
  const BURST_MS = 240_000;
  it("200 concurrent calls on a balance that covers 20: at most 20 served, the rest 402 (or 503 to retry when a hold is not answered in time), never below zero", {
    timeout: BURST_MS,
  }, async () => {
    // Learn what one such call costs (the same prompt always gets the same answer), then fund twenty of them.
    const probe = await customer(1_000_000n);
    await probe.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 100 });
    const [charge] = await usageRows(probe.id, 1);
    const perCall = charge!.revenue_micros;
    const c = await customer(20n * perCall);
    const patient = new OpenAI({
      baseURL: ctx.stack.gatewayUrl,
      apiKey: c.secret,
      maxRetries: 0,
      timeout: BURST_MS - 30_000,
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        failure(patient.chat.completions.create({ model: "fake-small", messages, max_tokens: 100 })),
      ),
    );
    const served = results.filter((r) => r === null).length;
    const refused = results.filter((r) => r?.status === 402);
    // A hold the platform did not answer within the gateway's two 3 s tries (200 at once on a loaded machine) is
    // a 503 to retry, reported failed and charged nothing (contract clause 64); so is the key's first verification,
    // which the 200 calls of a new key wait for together, when the platform does not answer it in time. Nothing
    // else may happen to a call (a failure names its status and message).
    const unavailable = results.filter((r) => r?.status === 503);
    expect(unexpectedFailures(results)).toEqual([]);
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThanOrEqual(20);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.message).toMatch(/Insufficient balance/);
    // Nothing stays held: a served call's hold goes with its charge, and a late hold of a call reported failed is
    // released when that report is settled.
    const after = await settledBalance(ctx, c.accountId);
    expect(after.held_micros).toBe(0n);
    const rows = await usageRows(c.id, served);
    const charged = rows.filter((r) => r.status === "success");
    expect(charged).toHaveLength(served);
    expect(charged.every((r) => r.revenue_micros === perCall)).toBe(true);
    // The 503s reported failed (not all need be: one whose hold request never left the gateway has nothing to report).
    const reported = rows.filter((r) => r.status !== "success");
    expect(reported.every((r) => r.status === "failure" && r.revenue_micros === 0n)).toBe(true);
    expect(reported.length).toBeLessThanOrEqual(unavailable.length);
    expect(after.balance_micros).toBe(20n * perCall - BigInt(served) * perCall);
    expect(await checkLedgerInvariants(ctx.sql)).toEqual([]);
  });

  it("an upstream 500 and a timeout release the hold and charge nothing", async () => {
    const c = await customer(1_000_000n);
    expect(
      (await failure(c.client.chat.completions.create({ model: "fake-error-500", messages })))?.status,
    ).toBe(500);
    expect(
      (await failure(c.client.chat.completions.create({ model: "fake-timeout", messages })))?.status,
    ).toBeGreaterThanOrEqual(408);
    const rows = await usageRows(c.id, 2);
    expect(rows.map((r) => [r.status, r.billing_status, r.revenue_micros])).toEqual([
      ["failure", "waived", 0n],
      ["failure", "waived", 0n],
    ]);
    expect(await balance(c.accountId)).toEqual({ balance_micros: 1_000_000n, held_micros: 0n });
    const holds = await ctx.sql`select status from holds where key_id = ${c.id}`;
    expect(holds.map((r) => r.status)).toEqual(["released", "released"]);
  });

  it("a stream cut mid-way is charged for what was delivered, marked estimated", async () => {
    const c = await customer(1_000_000n);
    const stream = await c.client.chat.completions.create({ model: "fake-cut", messages, stream: true });
    let delivered = "";
    await expect(
      (async () => {
        for await (const chunk of stream) delivered += chunk.choices[0]?.delta?.content ?? "";
      })(),
    ).rejects.toThrow();
    expect(delivered.length).toBeGreaterThan(0);
    const [row] = await usageRows(c.id, 1);
    expect(row).toMatchObject({ status: "cut", billing_status: "estimated" });
    expect(row!.completion_tokens).toBeGreaterThan(0);
    expect(row!.revenue_micros).toBe(
      priceTokens({ input: row!.prompt_tokens, output: row!.completion_tokens }, PRICE),
    );
    expect(await balance(c.accountId)).toEqual({
      balance_micros: 1_000_000n - row!.revenue_micros,
      held_micros: 0n,
    });
  });

  it("a key on a 10-requests-a-day plan gets its 11th request of the day refused with 429 and a clear message", async () => {
    const c = await customer(1_000_000n);
    // The demo's Free tier also limits RPM (5/min, which a key cannot lift): a tier with the day's allowance alone.
    await ctx.sql`
      insert into plans (name, requests_per_day) values ('Daily ten', 10) on conflict (name) do nothing`;
    await ctx.sql`
      update users set plan_id = (select id from plans where name = 'Daily ten') where id = ${c.userId}`;
    for (let i = 0; i < 10; i++) {
      await c.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 5 });
    }
    const eleventh = await failure(
      c.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 5 }),
    );
    expect(eleventh?.status).toBe(429);
    expect(eleventh?.message).toMatch(/Daily ten plan allows 10 requests per day \(UTC\)/);
    const rows = await usageRows(c.id, 10);
    expect(rows).toHaveLength(10);
    const [account] = await ctx.sql<{ day_requests: number }[]>`
      select day_requests from accounts where id = ${c.accountId}`;
    expect(account!.day_requests).toBe(10);
  });

  it("a key cannot lift its plan's RPM limit by setting its own", async () => {
    const c = await customer(1_000_000n);
    // The Free tier allows 5 requests a minute; the developer set 100 on their own key.
    await ctx.sql`
      update users set plan_id = (select id from plans where name = 'Free') where id = ${c.userId}`;
    await ctx.sql`update api_keys set rpm_limit = 100 where id = ${c.id}`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const error = await failure(
        c.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 5 }),
      );
      statuses.push(error?.status ?? 200);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    // The refused call's reservation is given back, charged nothing.
    const rows = await usageRows(c.id, 6);
    expect(rows.filter((r) => r.status === "success")).toHaveLength(5);
    expect(rows.filter((r) => r.status !== "success").map((r) => r.revenue_micros)).toEqual([0n]);
  });

  it("a client cannot choose the call id (the idempotency key)", async () => {
    const c = await customer(1_000_000n);
    const res = await fetch(`${ctx.stack.gatewayUrl}/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${c.secret}`,
        "content-type": "application/json",
        "x-litellm-call-id": "mine",
      },
      body: JSON.stringify({ model: "fake-small", messages }),
    });
    expect(res.status).toBe(403);
  });

  it("with the platform down for a while, the outbox redelivers and no event is lost", async () => {
    const c = await customer(1_000_000n);
    const stats = async () => {
      const res = await fetch(`${ctx.stack.gatewayUrl!.replace(/\/v1$/, "")}/tollgate/outbox/stats`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      });
      return (await res.json()) as { pending: number; delivered: number; total: number };
    };
    const before = await stats();
    // Ten slow streams: their holds are placed, then the platform goes away while they run.
    const streams = await Promise.all(
      Array.from({ length: 10 }, () =>
        c.client.chat.completions.create({ model: "fake-slow", messages, stream: true, max_tokens: 8 }),
      ),
    );
    await ctx.stack.stopApp();
    try {
      for (const s of streams) for await (const _ of s) void _;
      const deadline = Date.now() + 5000;
      let during = await stats();
      while (during.pending < 10 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        during = await stats();
      }
      expect(during.pending).toBeGreaterThanOrEqual(10);
    } finally {
      await ctx.stack.startApp();
    }
    const rows = await usageRows(c.id, 10, 40_000);
    expect(rows).toHaveLength(10);
    // The rows are committed before the webhook's answer reaches the gateway, which then marks them delivered.
    let after = await stats();
    const settled = Date.now() + 10_000;
    while (after.pending > 0 && Date.now() < settled) {
      await new Promise((r) => setTimeout(r, 100));
      after = await stats();
    }
    expect(after.total - before.total).toBe(10);
    expect(after.pending).toBe(0);
    const account = await balance(c.accountId);
    expect(account.held_micros).toBe(0n);
    expect(account.balance_micros).toBe(1_000_000n - rows.reduce((s, r) => s + r.revenue_micros, 0n));
  });

  it("a hold the platform places after the gateway stopped waiting is released by the call's failure, not the next day's settlement", async () => {
    const c = await customer(1_000_000n);
    // Served once first: the key is verified and its last use recorded, so only the hold waits below.
    await c.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 8 });
    const [served] = await usageRows(c.id, 1);
    // The key's row is held by a slow transaction: place_hold waits for it past the gateway's timeout (3 s, twice).
    const { promise: held, fire: release } = signal();
    const { promise: lockTaken, fire: locked } = signal();
    const slow = ctx.sql.begin(async (tx) => {
      await tx`select 1 from api_keys where id = ${c.id} for update`;
      locked();
      await held;
    });
    let refused: Awaited<ReturnType<typeof failure>>;
    try {
      await lockTaken;
      refused = await failure(
        c.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 8 }),
      );
    } finally {
      release();
      await slow;
    }
    expect(refused?.status).toBe(503);
    // The gateway reported the call failed; once that event is settled nothing of the call is held or charged,
    // whichever of the late hold and the event the platform took first.
    const rows = await usageRows(c.id, 2);
    const failed = rows.find((r) => r.call_id !== served!.call_id)!;
    expect(failed).toMatchObject({ status: "failure", revenue_micros: 0n });
    const deadline = Date.now() + 15_000;
    let account = await balance(c.accountId);
    while (account.held_micros !== 0n && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      account = await balance(c.accountId);
    }
    expect(account).toEqual({ balance_micros: 1_000_000n - served!.revenue_micros, held_micros: 0n });
    const holds = await ctx.sql<
      { status: string }[]
    >`select status from holds where call_id = ${failed.call_id}`;
    expect(holds.every((h) => h.status === "released")).toBe(true);
    const [error] = await ctx.sql<{ error_class: string }[]>`
      select error_class from usage_events where call_id = ${failed.call_id}`;
    expect(error!.error_class).toBe("ReservationUnavailable");
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  });
});

describe("the key usage API (an app reads its own key and account with its key)", () => {
  it("matches the ledger after real calls; another key's data is never visible", async () => {
    // "Today's" spend and usage: the calls and the reads below in one UTC day.
    await clearOfMidnight(ctx.sql, 20);
    const c = await customer(1_000_000n);
    const other = await customer(2_000_000n);
    const usages = [];
    for (let i = 0; i < 3; i++) {
      const res = await c.client.chat.completions.create({
        model: "fake-small",
        messages: [{ role: "user", content: `key api ${i}` }],
        max_tokens: 12,
      });
      usages.push(res.usage!);
    }
    await usageRows(c.id, 3);
    const charged = usages.reduce(
      (sum, u) => sum + priceTokens({ input: u.prompt_tokens, output: u.completion_tokens }, PRICE),
      0n,
    );
    const get = (path: string, secret: string) =>
      fetch(`${ctx.stack.appUrl}${path}`, { headers: { authorization: `Bearer ${secret}` } });
    const res = await get("/api/v1/key", c.secret);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, max-age=5");
    const state = await res.json();
    const account = await balance(c.accountId);
    expect(state.key).toMatchObject({ id: c.id, status: "active", todaySpentMicros: Number(charged) });
    expect(state.account).toMatchObject({
      balanceMicros: Number(account.balance_micros),
      heldMicros: 0,
      availableMicros: Number(account.balance_micros),
      todaySpentMicros: Number(charged),
    });
    expect(BigInt(state.account.balanceMicros)).toBe(1_000_000n - charged);
    const [ledger] = await ctx.sql<{ sum: bigint }[]>`
      select coalesce(sum(amount_micros), 0)::bigint as sum from ledger_entries where account_id = ${c.accountId}`;
    expect(BigInt(state.account.balanceMicros)).toBe(ledger!.sum);

    const today = new Date().toISOString().slice(0, 10);
    const usage = await (await get(`/api/v1/key/usage?from=${today}&to=${today}`, c.secret)).json();
    expect(usage.totals).toMatchObject({
      calls: 3,
      failures: 0,
      tokensIn: usages.reduce((n, u) => n + u.prompt_tokens, 0),
      tokensOut: usages.reduce((n, u) => n + u.completion_tokens, 0),
      chargedMicros: Number(charged),
    });
    expect(usage.days).toEqual([{ day: today, calls: 3, chargedMicros: Number(charged) }]);
    expect(usage.models).toEqual([expect.objectContaining({ model: "fake-small", calls: 3 })]);

    // The other key sees its own (untouched) account only; nothing of the first key's.
    const theirs = await (await get("/api/v1/key", other.secret)).json();
    expect(theirs.key.id).toBe(other.id);
    expect(theirs.account.balanceMicros).toBe(2_000_000);
    expect((await (await get("/api/v1/key/usage", other.secret)).json()).totals.calls).toBe(0);
    // No key, a wrong key, a revoked key: 401 with the error contract; a bad range: 422.
    expect((await fetch(`${ctx.stack.appUrl}/api/v1/key`)).status).toBe(401);
    const wrong = await get("/api/v1/key", `${c.secret.slice(0, -4)}XXXX`);
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe("unauthorized");
    const bad = await get(`/api/v1/key/usage?from=${today}&to=2020-01-01`, c.secret);
    expect(bad.status).toBe(422);
    await ctx.sql`update api_keys set status = 'revoked', revoked_at = now() where id = ${other.id}`;
    expect((await get("/api/v1/key", other.secret)).status).toBe(401);
  });
});
