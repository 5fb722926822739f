// Money paths on real PostgreSQL, checked on the numbers: holds, charges, releases, idempotency, concurrency.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { checkLedgerInvariants, creditAccount } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { createClient } from "@/lib/db/client";
import { ADMIN_ACTOR, accountOf, event, insertKey, PRICE, seedPricedModel, topUp } from "../helpers/billing";
import { clearOfMidnight } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { priceTokens } from "../helpers/price";
import { insertUser } from "../helpers/users";

const { sql, url } = await createTestDatabase();
let adminId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await seedPricedModel(sql);
});

async function newCustomer(balanceMicros: bigint, keyExtra?: { dailyBudgetMicros?: bigint }) {
  const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
  const account = await accountOf(sql, userId);
  if (balanceMicros > 0n) await topUp(sql, adminId, account.id, balanceMicros);
  const keyId = await insertKey(sql, userId, keyExtra);
  return { userId, accountId: account.id, keyId };
}

const hold = (keyId: string, callId: string, promptTokens = 100, maxOutputTokens: number | null = 200) =>
  placeHold(sql, { keyId, callId, nonce: `n-${callId}`, model: "fake-small", promptTokens, maxOutputTokens });

async function expectInvariants() {
  expect(await checkLedgerInvariants(sql)).toEqual([]);
}

describe("top-ups", () => {
  it("credit the balance with a balanced ledger transaction, once per idempotency key", async () => {
    const c = await newCustomer(0n);
    const input = {
      accountId: c.accountId,
      amountMicros: 5_000_000n,
      kind: "topup" as const,
      reason: "invoice 42",
      idempotencyKey: "inv-42",
    };
    await creditAccount(sql, ADMIN_ACTOR(adminId), input);
    const replay = await creditAccount(sql, ADMIN_ACTOR(adminId), input);
    expect(replay.replayed).toBe(true);
    expect((await accountOf(sql, c.userId)).balance_micros).toBe(5_000_000n);
    const [audit] =
      await sql`select after from audit_log where action = 'account.topup' and target_id = ${c.accountId}`;
    expect(audit!.after.reason).toBe("invoice 42");
    await expectInvariants();
  });

  it("refuse a negative top-up and an adjustment below what is held", async () => {
    const c = await newCustomer(1_000n);
    await expect(
      creditAccount(sql, ADMIN_ACTOR(adminId), {
        accountId: c.accountId,
        amountMicros: -1n,
        kind: "topup",
        reason: "x",
        idempotencyKey: "neg",
      }),
    ).rejects.toMatchObject({ code: "validation_failed" });
    await hold(c.keyId, "held-call", 100, 200); // 350 µ$ held
    await expect(
      creditAccount(sql, ADMIN_ACTOR(adminId), {
        accountId: c.accountId,
        amountMicros: -700n,
        kind: "adjustment",
        reason: "x",
        idempotencyKey: "adj",
      }),
    ).rejects.toMatchObject({ code: "conflict" });
    expect((await accountOf(sql, c.userId)).balance_micros).toBe(1_000n);
  });
});

/** What the gateway reports of a call whose hold request got no answer (billing.py, `_place_hold`). */
const UNAVAILABLE = {
  status: "failure" as const,
  promptTokens: 0,
  completionTokens: 0,
  errorClass: "ReservationUnavailable",
};

describe("holds and charges", () => {
  it("hold = worst case at the price in force; charge = price book × reported tokens, rounded up once", async () => {
    const c = await newCustomer(1_000_000n);
    const h = await hold(c.keyId, "call-1", 100, 200);
    // (100 × 0.5 + 200 × 1.5) µ$ = 350 µ$
    expect(h.amountMicros).toBe(350n);
    expect((await accountOf(sql, c.userId)).held_micros).toBe(350n);

    const result = await settleUsage(sql, [
      event(c.keyId, "call-1", { promptTokens: 101, completionTokens: 33 }),
    ]);
    // 101 × 0.5 + 33 × 1.5 = 100.0 µ$ exactly → 100; cost 101 × 0.3 + 33 × 0.9 = 60.0 → 60
    expect(result).toMatchObject({ inserted: 1, duplicates: 0, chargedMicros: 100n });
    const account = await accountOf(sql, c.userId);
    expect(account).toMatchObject({ balance_micros: 999_900n, held_micros: 0n });
    const [usage] =
      await sql`select billing_status(status) as billing_status, revenue_micros, cost_micros, price_version_id is not null as priced from usage_events where call_id = 'call-1'`;
    expect(usage).toEqual({ billing_status: "exact", revenue_micros: 100n, cost_micros: 60n, priced: true });
    const [h1] = await sql`select status from holds where key_id = ${c.keyId} and call_id = 'call-1'`;
    expect(h1!.status).toBe("settled");
    await expectInvariants();
  });

  it("rounds up once per request, not per token kind", async () => {
    const c = await newCustomer(1_000_000n);
    await hold(c.keyId, "round", 1, 1);
    await settleUsage(sql, [event(c.keyId, "round", { promptTokens: 1, completionTokens: 1 })]);
    // 0.5 + 1.5 = 2.0 µ$ (rounding each part up would give 3)
    expect((await accountOf(sql, c.userId)).balance_micros).toBe(999_998n);
    expect(priceTokens({ input: 1, output: 1 }, { input: PRICE.input, output: PRICE.output })).toBe(2n);
  });

  it("the SQL and TypeScript price functions agree", async () => {
    for (let i = 0; i < 200; i++) {
      const t = {
        input: Math.floor(Math.random() * 1e6),
        output: Math.floor(Math.random() * 1e5),
        cached: Math.floor(Math.random() * 1e5),
      };
      const p = {
        input: BigInt(Math.floor(Math.random() * 1e8)),
        output: BigInt(Math.floor(Math.random() * 1e8)),
        cachedInput: BigInt(Math.floor(Math.random() * 1e7)),
      };
      const [row] = await sql<
        { v: bigint }[]
      >`select price_tokens(${t.input}, ${t.output}, ${t.cached}, ${p.input}, ${p.output}, ${p.cachedInput}) as v`;
      expect(row!.v).toBe(priceTokens(t, p));
    }
  });

  it("a failed call releases its hold and costs nothing", async () => {
    const c = await newCustomer(1_000_000n);
    await hold(c.keyId, "fail-1");
    await settleUsage(sql, [
      event(c.keyId, "fail-1", { status: "failure", completionTokens: 0, errorClass: "InternalServerError" }),
    ]);
    expect(await accountOf(sql, c.userId)).toMatchObject({ balance_micros: 1_000_000n, held_micros: 0n });
    const [usage] =
      await sql`select billing_status(status) as billing_status, revenue_micros from usage_events where call_id = 'fail-1'`;
    expect(usage).toEqual({ billing_status: "waived", revenue_micros: 0n });
    const [h] = await sql`select status from holds where call_id = 'fail-1'`;
    expect(h!.status).toBe("released");
    await expectInvariants();
  });

  it("a hold the gateway stopped waiting for is released by the call's failure, and one placed after it is refused", async () => {
    const c = await newCustomer(1_000_000n);
    // Placed, but its answer never reached the gateway (a timeout): the gateway answered 503 and reported the call
    // failed. The event releases the hold, charges nothing, and gives the request back.
    await hold(c.keyId, "gave-up-1");
    expect((await accountOf(sql, c.userId)).held_micros).toBeGreaterThan(0n);
    await settleUsage(sql, [event(c.keyId, "gave-up-1", UNAVAILABLE)]);
    expect(await accountOf(sql, c.userId)).toMatchObject({ balance_micros: 1_000_000n, held_micros: 0n });
    const [h] = await sql`select status from holds where call_id = 'gave-up-1'`;
    expect(h!.status).toBe("released");
    // The platform was slower still: the failure was settled before the hold request was served. It places nothing.
    await settleUsage(sql, [event(c.keyId, "gave-up-2", UNAVAILABLE)]);
    await expect(hold(c.keyId, "gave-up-2")).rejects.toMatchObject({ code: "conflict" });
    expect(await accountOf(sql, c.userId)).toMatchObject({ balance_micros: 1_000_000n, held_micros: 0n });
    expect(await sql`select 1 from holds where call_id = 'gave-up-2'`).toHaveLength(0);
    await expectInvariants();
  });

  it("a hold asked for while its call's failure is being settled is refused, not left open", async () => {
    const c = await newCustomer(1_000_000n);
    const batch = createClient({ url, max: 1 });
    try {
      let commit!: () => void;
      const held = new Promise<void>((r) => {
        commit = r;
      });
      // The failure's batch has claimed the call and holds the key, not yet committed, when the hold request comes.
      const settling = batch.begin(async (tx) => {
        await settleUsage(tx, [event(c.keyId, "gave-up-3", UNAVAILABLE)]);
        await held;
      });
      for (let i = 0; i < 200; i++) {
        const [claimed] = await sql`
          select count(*)::int as n from pg_locks l join pg_class t on t.oid = l.relation
          where t.relname = 'usage_calls' and l.granted and l.pid <> pg_backend_pid()`;
        if (claimed!.n > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const asking = hold(c.keyId, "gave-up-3").then(
        () => "placed",
        (e: { code?: string }) => e.code,
      );
      await new Promise((r) => setTimeout(r, 300));
      commit();
      await settling;
      expect(await asking).toBe("conflict");
    } finally {
      await batch.end();
    }
    expect(await accountOf(sql, c.userId)).toMatchObject({ balance_micros: 1_000_000n, held_micros: 0n });
    expect(await sql`select 1 from holds where call_id = 'gave-up-3' and status = 'open'`).toHaveLength(0);
    await expectInvariants();
  });

  it("a cut stream is charged for what was delivered, marked estimated", async () => {
    const c = await newCustomer(1_000_000n);
    await hold(c.keyId, "cut-1");
    await settleUsage(sql, [event(c.keyId, "cut-1", { status: "cut", stream: true, completionTokens: 20 })]);
    // 100 × 0.5 + 20 × 1.5 = 80 µ$
    expect(await accountOf(sql, c.userId)).toMatchObject({ balance_micros: 999_920n, held_micros: 0n });
    const [usage] =
      await sql`select billing_status(status) as billing_status, revenue_micros from usage_events where call_id = 'cut-1'`;
    expect(usage).toEqual({ billing_status: "estimated", revenue_micros: 80n });
  });

  it("the same batch delivered three times, and batches out of order, charge each call once", async () => {
    const c = await newCustomer(1_000_000n);
    for (const id of ["a", "b", "c", "d"]) await hold(c.keyId, id);
    const batch1 = [event(c.keyId, "a"), event(c.keyId, "b")];
    const batch2 = [event(c.keyId, "c"), event(c.keyId, "d"), event(c.keyId, "a")];
    await settleUsage(sql, batch2);
    for (let i = 0; i < 3; i++) await settleUsage(sql, batch1);
    const again = await settleUsage(sql, [...batch2, ...batch1]);
    expect(again).toMatchObject({ inserted: 0, duplicates: 4, chargedMicros: 0n });
    // 4 calls × (100 × 0.5 + 50 × 1.5 = 125 µ$)
    expect(await accountOf(sql, c.userId)).toMatchObject({
      balance_micros: 1_000_000n - 4n * 125n,
      held_micros: 0n,
    });
    const [charged] = await sql`
      select -sum(e.amount_micros)::bigint as total from ledger_entries e
      join ledger_transactions t on t.id = e.transaction_id where t.kind = 'charge' and e.account_id = ${c.accountId}`;
    expect(charged!.total).toBe(4n * 125n);
    await expectInvariants();
  });

  it("a failure then a success for the same call (retry/fallback) ends charged once, for the success", async () => {
    const c = await newCustomer(1_000_000n);
    await hold(c.keyId, "retry-1");
    await settleUsage(sql, [event(c.keyId, "retry-1", { status: "failure", completionTokens: 0 })]);
    expect((await accountOf(sql, c.userId)).balance_micros).toBe(1_000_000n);
    const r = await settleUsage(sql, [event(c.keyId, "retry-1")]);
    expect(r.upgraded).toBe(1);
    expect((await accountOf(sql, c.userId)).balance_micros).toBe(1_000_000n - 125n);
    await settleUsage(sql, [event(c.keyId, "retry-1", { status: "failure", completionTokens: 0 })]);
    await settleUsage(sql, [event(c.keyId, "retry-1")]);
    expect((await accountOf(sql, c.userId)).balance_micros).toBe(1_000_000n - 125n);
    await expectInvariants();
  });

  it("a charge above its hold is taken; the dip below zero blocks new holds until a top-up", async () => {
    const c = await newCustomer(400n);
    const h = await hold(c.keyId, "over-1", 100, 1); // 52 µ$ held (50 + 1.5, rounded up)
    expect(h.amountMicros).toBe(52n);
    await settleUsage(sql, [event(c.keyId, "over-1", { promptTokens: 100, completionTokens: 300 })]); // 500 µ$
    expect(await accountOf(sql, c.userId)).toMatchObject({ balance_micros: -100n, held_micros: 0n });
    await expect(hold(c.keyId, "over-2", 1, 1)).rejects.toMatchObject({
      code: "insufficient_balance",
      status: 402,
    });
    await topUp(sql, adminId, c.accountId, 1_000n);
    await expect(hold(c.keyId, "over-3", 1, 1)).resolves.toMatchObject({ outcome: "placed" });
    await expectInvariants();
  });

  it("refuses with 402 and the amounts when the balance does not cover the worst case", async () => {
    const c = await newCustomer(300n);
    const refused = hold(c.keyId, "poor", 100, 200);
    await expect(refused).rejects.toMatchObject({ code: "insufficient_balance", status: 402 });
    await expect(refused).rejects.toThrow(/\$0\.000350.*\$0\.000300/);
    expect(await accountOf(sql, c.userId)).toMatchObject({ balance_micros: 300n, held_micros: 0n });
    const [n] = await sql`select count(*)::int as n from holds where call_id = 'poor'`;
    expect(n!.n).toBe(0);
  });

  it("enforces key and account budgets with 429 budget_exceeded, writing nothing", async () => {
    // A day's and a month's budget: every hold below in one UTC day.
    await clearOfMidnight(sql, 10);
    const c = await newCustomer(1_000_000n, { dailyBudgetMicros: 700n });
    await hold(c.keyId, "budget-1");
    await hold(c.keyId, "budget-2"); // 700 µ$ of today's 700 used
    const refused = hold(c.keyId, "budget-3");
    await expect(refused).rejects.toMatchObject({ code: "budget_exceeded", status: 429 });
    await expect(refused).rejects.toThrow(/key's budget.*\$0\.000700 of \$0\.000700/);
    // Settling frees what was held but not spent: 2 × (350 − 125) µ$
    await settleUsage(sql, [event(c.keyId, "budget-1"), event(c.keyId, "budget-2")]);
    await expect(hold(c.keyId, "budget-3")).resolves.toMatchObject({ outcome: "placed" });

    const d = await newCustomer(1_000_000n);
    await sql`update accounts set monthly_budget_micros = 400 where id = ${d.accountId}`;
    await hold(d.keyId, "acct-1");
    await expect(hold(d.keyId, "acct-2")).rejects.toMatchObject({ code: "budget_exceeded" });
    await expectInvariants();
  });

  it("is idempotent by call id: the same request again returns the same hold; another request with the id is refused", async () => {
    const c = await newCustomer(1_000_000n);
    const first = await placeHold(sql, {
      keyId: c.keyId,
      callId: "dup",
      nonce: "n1",
      model: "fake-small",
      promptTokens: 10,
      maxOutputTokens: 10,
    });
    const replay = await placeHold(sql, {
      keyId: c.keyId,
      callId: "dup",
      nonce: "n1",
      model: "fake-small",
      promptTokens: 10,
      maxOutputTokens: 10,
    });
    expect(replay).toMatchObject({ holdId: first.holdId, outcome: "replayed" });
    await expect(
      placeHold(sql, {
        keyId: c.keyId,
        callId: "dup",
        nonce: "n2",
        model: "fake-small",
        promptTokens: 10,
        maxOutputTokens: 10,
      }),
    ).rejects.toMatchObject({ code: "conflict" });
    expect((await accountOf(sql, c.userId)).held_micros).toBe(first.amountMicros);
    // The same call id under another key is another call.
    const other = await newCustomer(1_000_000n);
    await expect(hold(other.keyId, "dup")).resolves.toMatchObject({ outcome: "placed" });
  });

  it("caps the hold at the model's output limit and uses it when max_tokens is absent", async () => {
    const c = await newCustomer(1_000_000_000n);
    const h = await hold(c.keyId, "cap", 0, null);
    expect(h.maxOutputTokens).toBe(4096);
    expect(h.amountMicros).toBe(
      priceTokens({ input: 0, output: 4096 }, { input: PRICE.input, output: PRICE.output }),
    );
  });
});

describe("concurrency", () => {
  it("200 concurrent holds on a balance that covers 20: exactly 20 placed, never below zero", async () => {
    const c = await newCustomer(20n * 350n);
    const pool = createClient({ url, max: 20 });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) =>
          placeHold(pool, {
            keyId: c.keyId,
            callId: `con-${i}`,
            nonce: `n${i}`,
            model: "fake-small",
            promptTokens: 100,
            maxOutputTokens: 200,
          }),
        ),
      );
      const placed = results.filter((r) => r.status === "fulfilled");
      const refused = results.filter((r) => r.status === "rejected");
      expect(placed).toHaveLength(20);
      expect(refused.every((r) => (r as PromiseRejectedResult).reason.code === "insufficient_balance")).toBe(
        true,
      );
      const account = await accountOf(sql, c.userId);
      expect(account).toMatchObject({ balance_micros: 7_000n, held_micros: 7_000n });

      // Settle them all concurrently in small batches: balance = 7000 − 20 × 125, never negative.
      const calls = placed.map((_, i) => i);
      const ids = (await sql<{ call_id: string }[]>`select call_id from holds where key_id = ${c.keyId}`).map(
        (r) => r.call_id,
      );
      await Promise.all(
        [0, 1, 2, 3].map((part) =>
          settleUsage(
            pool,
            ids.filter((_, i) => i % 4 === part).map((id) => event(c.keyId, id)),
          ),
        ),
      );
      expect(calls).toHaveLength(20);
      expect(await accountOf(sql, c.userId)).toMatchObject({
        balance_micros: 7_000n - 20n * 125n,
        held_micros: 0n,
      });
      await expectInvariants();
    } finally {
      await pool.end();
    }
  });

  it("holds and settlements interleaved on one account from 8 connections: no deadlock, exact books", async () => {
    const c = await newCustomer(10_000_000n);
    const pool = createClient({ url, max: 8 });
    try {
      let calls = 0;
      await Promise.all(
        Array.from({ length: 8 }, async (_, worker) => {
          for (let i = 0; i < 25; i++) {
            const callId = `mix-${worker}-${i}`;
            await placeHold(pool, {
              keyId: c.keyId,
              callId,
              nonce: callId,
              model: "fake-small",
              promptTokens: 100,
              maxOutputTokens: 200,
            });
            await settleUsage(pool, [event(c.keyId, callId)]);
            calls++;
          }
        }),
      );
      expect(calls).toBe(200);
      expect(await accountOf(sql, c.userId)).toMatchObject({
        balance_micros: 10_000_000n - 200n * 125n,
        held_micros: 0n,
      });
      await expectInvariants();
    } finally {
      await pool.end();
    }
  });
});
