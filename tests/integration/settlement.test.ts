// The daily settlement on real PostgreSQL: stale holds are replayed from the gateway's outbox or settled by
// policy, orphans and overage are reported, roll-ups are recomputed, and a second run changes nothing.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage, type UsageEvent } from "@/lib/billing/settle";
import { drain } from "@/lib/settlement/drain";
import { previousUtcDay, startSettlement } from "@/lib/settlement/run";
import { getRun } from "@/lib/settlement/views";
import { accountOf, event, insertKey, seedPricedModel, topUp } from "../helpers/billing";
import { clearOfMidnight } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const CRON = { authorization: `Bearer ${process.env.CRON_SECRET}` };
const yesterday = previousUtcDay();
let adminId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await seedPricedModel(sql);
});

async function customer() {
  const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
  const account = await accountOf(sql, userId);
  await topUp(sql, adminId, account.id, 1_000_000n);
  return { userId, accountId: account.id, keyId: await insertKey(sql, userId) };
}

/** A hold placed yesterday afternoon (UTC), as if its call happened then. */
async function holdYesterday(keyId: string, callId: string) {
  await placeHold(sql, {
    keyId,
    callId,
    nonce: callId,
    model: "fake-small",
    promptTokens: 100,
    maxOutputTokens: 200,
  });
  await sql`update holds set created_at = ${`${yesterday}T15:00:00Z`} where key_id = ${keyId} and call_id = ${callId}`;
}

function yesterdayEvent(keyId: string, callId: string, overrides: Partial<UsageEvent> = {}) {
  const at = `${yesterday}T15:00:05Z`;
  return event(keyId, callId, { startedAt: at, endedAt: at, ...overrides });
}

async function settle(outbox: Map<string, UsageEvent[]>, policy: "release" | "estimate" = "release") {
  const result = await startSettlement(
    sql,
    { userId: adminId, kind: "user", role: "admin" },
    { day: yesterday, trigger: "manual", chunkAccounts: 2 },
  );
  const summary = await drain(sql, {
    budgetMs: 20_000,
    policy,
    graceMinutes: 60,
    replay: async (keyId, callId) => outbox.get(`${keyId}:${callId}`) ?? [],
  });
  return { ...result, summary };
}

/** A customer with a stale hold yesterday, and a settlement of yesterday in one chunk (plus its finalize). */
async function oneChunkRun(callId: string) {
  const who = await customer();
  await holdYesterday(who.keyId, callId);
  return startSettlement(
    sql,
    { userId: adminId, kind: "user", role: "admin" },
    { day: yesterday, trigger: "manual", chunkAccounts: 100_000 },
  );
}

/** The gateway's outbox, asked about a hold, taking 300 ms to answer that it has nothing. */
const slowReplay = async () => {
  await new Promise((r) => setTimeout(r, 300));
  return [];
};

/** Runs `fn` while every settlement run refuses to be marked completed (its finalize fails at the last step). */
async function refusingCompletion<T>(fn: () => Promise<T>): Promise<T> {
  await sql`
    create or replace function public.test_refuse_completion() returns trigger language plpgsql as $$
    begin raise exception 'refused for the test'; end $$`;
  await sql`
    create trigger refuse_completion before update of status on settlement_runs
    for each row when (new.status = 'completed') execute function public.test_refuse_completion()`;
  try {
    return await fn();
  } finally {
    await sql`drop trigger refuse_completion on settlement_runs`;
    await sql`drop function public.test_refuse_completion()`;
  }
}

describe("daily settlement", () => {
  it("repairs every stale hold, reports each repair, keeps the books, and a second run changes nothing", async () => {
    const a = await customer();
    const b = await customer();
    const c = await customer();
    // a: delivered normally; a2: webhook lost but in the gateway's outbox; b: no event anywhere.
    await holdYesterday(a.keyId, "a1");
    await settleUsage(sql, [yesterdayEvent(a.keyId, "a1")]);
    await holdYesterday(a.keyId, "a2");
    await holdYesterday(b.keyId, "b1");
    // c: an event that arrived with no hold (orphan), and an overdraft beyond its balance.
    await settleUsage(sql, [yesterdayEvent(c.keyId, "c1", { completionTokens: 50 })]);
    await sql`update accounts set balance_micros = balance_micros - 2000000 where id = ${c.accountId}`;
    await sql`
      with t as (insert into ledger_transactions (kind, idempotency_key, reason) values ('adjustment', ${`test-${c.accountId}`}, 'test overdraft') returning id)
      insert into ledger_entries (transaction_id, account_id, amount_micros)
      select t.id, x.account_id, x.amount from t cross join (values (${c.accountId}::uuid, -2000000::bigint),
        ((select id from accounts where code = 'adjustments'), 2000000::bigint)) as x(account_id, amount)`;
    const outbox = new Map([[`${a.keyId}:a2`, [yesterdayEvent(a.keyId, "a2", { completionTokens: 10 })]]]);

    const first = await settle(outbox);
    expect(first.started).toBe(true);
    expect(first.summary.dead).toBe(0);

    const holds =
      await sql`select call_id, status from holds where key_id in (${a.keyId}, ${b.keyId}) order by call_id`;
    expect(holds.map((h) => [h.call_id, h.status])).toEqual([
      ["a1", "settled"],
      ["a2", "settled"],
      ["b1", "released"],
    ]);
    const [a2] =
      await sql`select billing_status(status) as billing_status, revenue_micros from usage_events where call_id = 'a2'`;
    expect(a2).toEqual({ billing_status: "exact", revenue_micros: 65n }); // 100 × 0.5 + 10 × 1.5
    const [b1] =
      await sql`select billing_status(status) as billing_status, revenue_micros, error_class from usage_events where call_id = 'b1'`;
    expect(b1).toEqual({ billing_status: "waived", revenue_micros: 0n, error_class: "NoUsageEvent" });
    expect((await accountOf(sql, b.userId)).held_micros).toBe(0n);

    const [run] = await sql`select * from settlement_runs where id = ${first.runId}`;
    expect(run).toMatchObject({
      status: "completed",
      holds_replayed: 1,
      holds_released: 1,
      invariant_violations: 0,
      orphan_events: 1,
      events_examined: 4,
    });
    const variances =
      await sql`select kind, call_id, account_id, amount_micros, detail from settlement_variances where run_id = ${first.runId} order by kind, call_id`;
    expect(variances.map((v) => [v.kind, v.call_id])).toEqual([
      ["orphan_event", null],
      ["overage", null],
      ["released_waived", "b1"],
      ["replayed_event", "a2"],
    ]);
    // The orphan is reported on its account, with its calls and their revenue: c1, 100 × 0.5 + 50 × 1.5.
    expect(variances[0]).toMatchObject({
      account_id: c.accountId,
      amount_micros: 125n,
      detail: { calls: 1, estimatedCalls: 0 },
    });
    const rollups =
      await sql`select account_id, requests, revenue_micros from usage_rollups where day = ${yesterday} order by revenue_micros`;
    expect(rollups.reduce((n, r) => n + Number(r.requests), 0)).toBe(4);
    // Charts read a settled day from its roll-ups while they hold all of it: their totals agree with its keys' per-day
    // roll-ups (kept with every call). Both moved alike, the chart reads the roll-ups; the settlement's alone moved (as
    // a late call moves the other), it reads the day's detail.
    const { dailySpend } = await import("@/lib/billing/accounts");
    const chartDay = async () =>
      (await dailySpend(sql, { userId: null, kind: "system" }, a.accountId, 3)).find(
        (d) => d.day === yesterday,
      )!.revenueMicros;
    const [live] =
      await sql`select sum(revenue_micros)::bigint as r from usage_events where account_id = ${a.accountId}`;
    const moveRollups = (micros: number) =>
      sql`update usage_rollups set revenue_micros = revenue_micros + ${micros}
          where ctid = (select ctid from usage_rollups where day = ${yesterday} and account_id = ${a.accountId} limit 1)`;
    const moveOwnerDay = (micros: number) =>
      sql`update usage_owner_days set revenue_micros = revenue_micros + ${micros}
          where owner_kind = 'key' and day = ${yesterday}
            and owner_id = (select id from api_keys where account_id = ${a.accountId} limit 1)`;
    await moveRollups(1_000_000);
    expect(await chartDay()).toBe(live!.r);
    await moveOwnerDay(1_000_000);
    expect(await chartDay()).toBe(live!.r + 1_000_000n);
    await moveRollups(-1_000_000);
    await moveOwnerDay(-1_000_000);
    expect(await chartDay()).toBe(live!.r);
    expect(await checkLedgerInvariants(sql)).toEqual([]);

    // A second run of the same day changes no money, no hold and no roll-up.
    const before = await sql`select id, balance_micros, held_micros from accounts order by id`;
    const rollBefore = await sql`select * from usage_rollups order by account_id, key_id, billing_status`;
    const second = await settle(outbox);
    expect(second.started).toBe(true);
    expect(await sql`select id, balance_micros, held_micros from accounts order by id`).toEqual(before);
    const rollAfter = await sql`select * from usage_rollups order by account_id, key_id, billing_status`;
    expect(rollAfter.map(({ computed_at: _c, ...r }) => r)).toEqual(
      rollBefore.map(({ computed_at: _c, ...r }) => r),
    );
    const [run2] =
      await sql`select holds_replayed, holds_released, holds_estimated from settlement_runs where id = ${second.runId}`;
    expect(run2).toEqual({ holds_replayed: 0, holds_released: 0, holds_estimated: 0 });
  });

  it("reports a day's orphans once per account — their calls, the estimated ones, their revenue — whatever the chunks", async () => {
    const f = await customer();
    const g = await customer();
    const fSecondKey = await insertKey(sql, f.userId);
    // f: three calls with no reservation over two keys, one of them charged on an estimate; g: one; and one of g's
    // calls held and delivered (not an orphan).
    await settleUsage(sql, [
      yesterdayEvent(f.keyId, "f1"),
      yesterdayEvent(fSecondKey, "f2", { completionTokens: 10 }),
      yesterdayEvent(fSecondKey, "f3", { status: "cut" }),
      yesterdayEvent(g.keyId, "g1"),
    ]);
    await holdYesterday(g.keyId, "g2");
    await settleUsage(sql, [yesterdayEvent(g.keyId, "g2")]);
    const { runId } = await settle(new Map());
    const orphans = await sql<{ account_id: string; amount_micros: bigint; detail: unknown }[]>`
      select account_id, amount_micros, detail from settlement_variances
      where run_id = ${runId} and kind = 'orphan_event' and account_id in (${f.accountId}, ${g.accountId})`;
    const revenue = async (calls: string[]) =>
      (
        await sql<
          { r: bigint }[]
        >`select sum(revenue_micros)::bigint as r from usage_events where call_id in ${sql(calls)}`
      )[0]!.r;
    const estimated = await sql<{ call_id: string }[]>`
      select call_id from usage_events where call_id in ('f1', 'f2', 'f3') and billing_status(status) = 'estimated'`;
    expect(
      orphans.sort((x, y) => (x.account_id === f.accountId ? -1 : y.account_id === f.accountId ? 1 : 0)),
    ).toEqual([
      {
        account_id: f.accountId,
        amount_micros: await revenue(["f1", "f2", "f3"]),
        detail: { calls: 3, estimatedCalls: estimated.length },
      },
      {
        account_id: g.accountId,
        amount_micros: await revenue(["g1"]),
        detail: { calls: 1, estimatedCalls: 0 },
      },
    ]);
    // Settled again, the day reports the same orphans under the new run, once each.
    const again = await settle(new Map());
    const [counts] = await sql<{ rows: number; calls: number }[]>`
      select count(*)::int as rows, sum((detail->>'calls')::int)::int as calls from settlement_variances
      where run_id = ${again.runId} and kind = 'orphan_event' and account_id in (${f.accountId}, ${g.accountId})`;
    expect(counts).toEqual({ rows: 2, calls: 4 });
  });

  it("a drain out of time hands the rest of its batch back unrun; the next tick finishes the run", async () => {
    const started = await oneChunkRun("h1");
    expect(started.chunks).toBe(1);
    // The one chunk asks the gateway's outbox about h1 and outlasts the budget: the finalize claimed beside it waits.
    const slow = await drain(sql, {
      budgetMs: 100,
      batch: 2,
      policy: "release",
      graceMinutes: 60,
      replay: slowReplay,
    });
    expect(slow).toMatchObject({ claimed: 1, completed: 1, released: 1 });
    const [finalize] = await sql`
      select state, attempts, started_at, locked_by from queue_jobs
      where name = 'settlement.finalize' and payload->>'runId' = ${started.runId}`;
    expect(finalize).toEqual({ state: "created", attempts: 0, started_at: null, locked_by: null });
    const [running] = await sql`select status from settlement_runs where id = ${started.runId}`;
    expect(running!.status).toBe("running");
    const next = await drain(sql, {
      budgetMs: 20_000,
      policy: "release",
      graceMinutes: 60,
      replay: async () => [],
    });
    expect(next.released).toBe(0);
    const [done] =
      await sql`select status, jobs_done, jobs_total from settlement_runs where id = ${started.runId}`;
    expect(done).toEqual({ status: "completed", jobs_done: 2, jobs_total: 2 });
    const [h1] = await sql`select status from holds where call_id = 'h1'`;
    expect(h1!.status).toBe("released");
  });

  it("a finalize claimed late in a drain waits for the next tick instead of starting", async () => {
    const started = await oneChunkRun("k1");
    const options = { policy: "release" as const, graceMinutes: 60 };
    // Budget to spare, but the chunk took 300 ms and a finalize may start only in the first 100 ms.
    const first = await drain(sql, {
      ...options,
      budgetMs: 20_000,
      batch: 2,
      finalizeStartMs: 100,
      replay: slowReplay,
    });
    expect(first).toMatchObject({ completed: 1, released: 1 });
    const [waiting] = await sql`
      select state, attempts from queue_jobs where name = 'settlement.finalize' and payload->>'runId' = ${started.runId}`;
    expect(waiting).toEqual({ state: "created", attempts: 0 });
    // The next tick starts it (its default start window: a loaded host may take over 100 ms to reach it).
    const next = await drain(sql, { ...options, budgetMs: 20_000, replay: async () => [] });
    expect(next.released).toBe(0);
    const [run] = await sql`select status from settlement_runs where id = ${started.runId}`;
    expect(run!.status).toBe("completed");
  });

  it("a finalize retried after a failure reports the orphans as they are then, not as they were", async () => {
    const m = await customer();
    await settleUsage(sql, [yesterdayEvent(m.keyId, "m1")]);
    // The first finalize records the orphans, then fails as it completes the run.
    const { runId } = await refusingCompletion(() => settle(new Map()));
    const [running] = await sql`select status from settlement_runs where id = ${runId}`;
    expect(running!.status).toBe("running");
    const [early] = await sql`
      select detail from settlement_variances where run_id = ${runId} and kind = 'orphan_event' and account_id = ${m.accountId}`;
    expect(early!.detail).toEqual({ calls: 1, estimatedCalls: 0 });
    // A late call of the day arrives before the retry.
    await settleUsage(sql, [yesterdayEvent(m.keyId, "m2")]);
    await sql`update queue_jobs set run_after = now() where payload->>'runId' = ${runId} and state = 'retry'`;
    await drain(sql, { budgetMs: 20_000, policy: "release", graceMinutes: 60, replay: async () => [] });
    const [run] = await sql`select status, orphan_events from settlement_runs where id = ${runId}`;
    expect(run!.status).toBe("completed");
    const [orphan] = await sql`
      select amount_micros, detail from settlement_variances
      where run_id = ${runId} and kind = 'orphan_event' and account_id = ${m.accountId}`;
    const [revenue] = await sql`
      select sum(revenue_micros)::bigint as r from usage_events where call_id in ('m1', 'm2')`;
    expect(orphan).toEqual({ amount_micros: revenue!.r, detail: { calls: 2, estimatedCalls: 0 } });
  });

  it("a run whose finalize is out of attempts ends failed, and the day can be settled again", async () => {
    await customer();
    const first = await refusingCompletion(async () => {
      const started = await startSettlement(
        sql,
        { userId: adminId, kind: "user", role: "admin" },
        { day: yesterday, trigger: "manual", chunkAccounts: 100_000 },
      );
      await sql`update queue_jobs set max_attempts = 1 where payload->>'runId' = ${started.runId}`;
      const summary = await drain(sql, {
        budgetMs: 20_000,
        policy: "release",
        graceMinutes: 60,
        replay: async () => [],
      });
      return { ...started, summary };
    });
    expect(first.summary.dead).toBe(1);
    const [run] = await sql`select status, error from settlement_runs where id = ${first.runId}`;
    expect(run).toEqual({ status: "failed", error: "abandoned: its jobs ended without completing it" });
    const again = await settle(new Map());
    expect(again.started).toBe(true);
    const [done] = await sql`select status from settlement_runs where id = ${again.runId}`;
    expect(done!.status).toBe("completed");
  });

  it("a run's page lists each kind's largest variances, so many of one kind hide no other", async () => {
    const { runId } = await settle(new Map());
    await sql`
      insert into settlement_variances (run_id, kind, call_id, amount_micros)
      select ${runId}, 'charged_estimate', 'many-' || i, i from generate_series(1, 150) i`;
    await sql`insert into settlement_variances (run_id, kind, amount_micros) values (${runId}, 'invariant', 7)`;
    const { variances } = await getRun(sql, { userId: adminId, kind: "user", role: "admin" }, runId);
    const estimates = variances.filter((v) => v.kind === "charged_estimate");
    expect(estimates.length).toBe(100);
    expect(estimates[0]!.amountMicros).toBe(150n);
    expect(estimates.at(-1)!.amountMicros).toBe(51n);
    expect(variances.filter((v) => v.kind === "invariant").length).toBe(1);
    expect(new Set(variances.map((v) => v.kind)).size).toBeGreaterThan(2); // the run's own orphans and overage too
  });

  it("reports each unbalanced ledger transaction apart", async () => {
    // Two transactions a faulty writer left unbalanced (one entry each, to a system account: no balance moves).
    const broken = await sql<{ id: string }[]>`
      with t as (
        insert into ledger_transactions (kind, idempotency_key, reason)
        select 'adjustment', 'test-unbalanced-' || i, 'test' from generate_series(1, 2) i returning id)
      insert into ledger_entries (transaction_id, account_id, amount_micros)
      select t.id, (select id from accounts where code = 'adjustments'), 5 from t
      returning transaction_id::text as id`;
    try {
      const { runId } = await settle(new Map());
      const rows = await sql<{ id: string; amount: bigint }[]>`
        select detail->>'id' as id, amount_micros as amount from settlement_variances
        where run_id = ${runId} and kind = 'invariant' and detail->>'check' = 'unbalanced_transaction' order by 1`;
      expect(rows).toEqual(
        broken.map((b) => ({ id: b.id, amount: 5n })).sort((x, y) => x.id.localeCompare(y.id)),
      );
      const [run] = await sql`select invariant_violations from settlement_runs where id = ${runId}`;
      expect(run!.invariant_violations).toBe(2);
    } finally {
      // Balanced again, for the tests after this one.
      await sql`
        insert into ledger_entries (transaction_id, account_id, amount_micros)
        select id::uuid, (select id from accounts where code = 'adjustments'), -5 from unnest(${broken.map((b) => b.id)}::text[]) id`;
    }
  });

  it("with the estimate policy, a hold with no event anywhere is charged as estimated", async () => {
    const d = await customer();
    await holdYesterday(d.keyId, "d1");
    await settle(new Map(), "estimate");
    const [usage] =
      await sql`select billing_status(status) as billing_status, revenue_micros from usage_events where call_id = 'd1'`;
    expect(usage).toEqual({ billing_status: "estimated", revenue_micros: 350n }); // the hold: 100 × 0.5 + 200 × 1.5
    expect(await accountOf(sql, d.userId)).toMatchObject({
      balance_micros: 1_000_000n - 350n,
      held_micros: 0n,
    });
  });

  it("a hold younger than the grace period is left alone", async () => {
    const e = await customer();
    await placeHold(sql, {
      keyId: e.keyId,
      callId: "fresh",
      nonce: "fresh",
      model: "fake-small",
      promptTokens: 1,
      maxOutputTokens: 1,
    });
    await sql`update holds set created_at = now() - interval '5 minutes' where call_id = 'fresh'`;
    // Settling yesterday leaves a hold from today alone, however old it gets within the grace period.
    await settle(new Map());
    const [h] = await sql`select status from holds where call_id = 'fresh'`;
    expect(h!.status).toBe("open");
  });
});

describe("cron routes", () => {
  it("refuse a missing or wrong secret with 401", async () => {
    const settleRoute = (await import("@/app/api/cron/settle/route")).GET;
    const drainRoute = (await import("@/app/api/cron/drain/route")).GET;
    for (const handler of [settleRoute, drainRoute]) {
      expect((await call(handler, {})).status).toBe(401);
      expect((await call(handler, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    }
    const [n] = await sql`select count(*)::int as n from settlement_runs where trigger = 'cron'`;
    expect(n!.n).toBe(0);
  });

  it("settle refuses a day that has not ended, the ?day= of the cron route included", async () => {
    const settleRoute = (await import("@/app/api/cron/settle/route")).GET;
    // The route reads its own clock: no midnight between this "today" and its.
    await clearOfMidnight(sql, 10);
    const today = new Date().toISOString().slice(0, 10);
    for (const day of [today, "2999-01-01"]) {
      const res = await call(settleRoute, { headers: CRON, path: `/api/cron/settle?day=${day}` });
      expect(res.status).toBe(422);
      expect(res.body.error.issues[0].path).toBe("day");
    }
    const [n] = await sql`select count(*)::int as n from settlement_runs where day >= ${today}::date`;
    expect(n!.n).toBe(0);
  });

  it("a replay answer of the wrong shape fails the job instead of being settled", async () => {
    const { createServer } = await import("node:http");
    const { gatewayReplay } = await import("@/lib/settlement/replay");
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ events: [{ callId: "x", keyId: "not-a-uuid", promptTokens: -1 }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const replay = gatewayReplay({ litellmUrl: `http://127.0.0.1:${port}`, gatewaySecret: "s".repeat(40) });
      await expect(replay("11111111-1111-4111-8111-111111111111", "x")).rejects.toThrow(/invalid shape/);
    } finally {
      server.close();
    }
  });

  it("settle enqueues once per day while it runs; two concurrent drains do not double-process", async () => {
    const f = await customer();
    for (let i = 0; i < 6; i++) await holdYesterday(f.keyId, `f${i}`);
    const settleRoute = (await import("@/app/api/cron/settle/route")).GET;
    const [one, two] = await Promise.all([
      call(settleRoute, { headers: CRON }),
      call(settleRoute, { headers: CRON }),
    ]);
    // One starts the run; the other finds it running (200) or being started this instant (409).
    const statuses = [one.status, two.status].sort();
    expect(statuses).toContain(201);
    expect([200, 409]).toContain(statuses.find((s) => s !== 201));
    const drainRoute = (await import("@/app/api/cron/drain/route")).GET;
    // No gateway answers replay here, so chunk jobs fail and retry: what matters is that the two drains
    // never claim the same job at once (each claim is one attempt).
    const [d1, d2] = await Promise.all([
      call(drainRoute, { headers: CRON }),
      call(drainRoute, { headers: CRON }),
    ]);
    expect(d1.status).toBe(200);
    expect(d2.status).toBe(200);
    const runs = await sql`select count(*)::int as n from settlement_runs where trigger = 'cron'`;
    expect(runs[0]!.n).toBe(1);
    const [jobs] =
      await sql`select count(*)::int as n, sum(attempts)::int as attempts from queue_jobs where name = 'settlement.chunk' and payload->>'runId' = (select id::text from settlement_runs where trigger = 'cron')`;
    // (Each drain also evaluates the alert rules, a job of its own: only chunk claims are counted.)
    const chunkClaims = (d: { body: { byName: Record<string, number> } }) =>
      d.body.byName["settlement.chunk"] ?? 0;
    expect(chunkClaims(d1) + chunkClaims(d2)).toBeLessThanOrEqual(jobs!.attempts + 1);
  });
});
