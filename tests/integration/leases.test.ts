// Balance leases on the platform (billing contract, clauses 31–38): grants bounded by the balance, the budgets
// and a fair share, reserved in held; calls settled against the lease they name; returns and expiry release
// exactly what no call drew; midnight; concurrency. On real PostgreSQL, with the numbers.
import { randomUUID } from "node:crypto";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { expireLeases, type GrantedLease, grantLease, listLeases, returnLease } from "@/lib/billing/leases";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { createClient, type Db, inTransaction } from "@/lib/db/client";
import { hashKey } from "@/lib/keys/secret";
import { verifyKey } from "@/lib/keys/verify";
import { accountOf, event, insertKey, PRICE, seedPricedModel, topUp } from "../helpers/billing";
import { clearOfMidnight, simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { priceTokens } from "../helpers/price";
import { insertUser } from "../helpers/users";

const { sql, url, prepare } = await createTestDatabase();
const TTL = 60;
let adminId: string;
let modelId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  ({ modelId } = await seedPricedModel(sql));
});

// A lease ends at the next UTC midnight (clause 35) and its counters are the day's: a test on the real clock
// starts clear of midnight by more than a lease's TTL. The tests about midnight stand on a simulated clock.
beforeEach(() => clearOfMidnight(sql, TTL + 10), (TTL + 30) * 1000);

async function customer(balance: bigint, email = `${randomUUID()}@example.com`) {
  const userId = await insertUser(sql, { email });
  const keyId = await insertKey(sql, userId);
  const account = await accountOf(sql, userId);
  if (balance > 0n) await topUp(sql, adminId, account.id, balance);
  return { userId, keyId, accountId: account.id };
}

const grant = (
  db: Db,
  keyId: string,
  want: bigint,
  min: bigint,
  { leaseId = randomUUID() as string, nonce = randomUUID() as string, ttlSeconds = TTL } = {},
) =>
  grantLease(
    db,
    { leaseId, keyId, processId: "proc-1", nonce, wantMicros: want, minMicros: min },
    { ttlSeconds },
  );

async function leaseRow(id: string) {
  const [row] = await sql<
    {
      status: string;
      reserved_micros: bigint;
      drawn_micros: bigint;
      charged_micros: bigint;
      released_micros: bigint;
      calls: number;
    }[]
  >`select status, reserved_micros, drawn_micros, charged_micros, released_micros, calls from leases where id = ${id}`;
  return row!;
}

const CALL = priceTokens({ input: 100, output: 50 }, PRICE); // 125 micro-USD

describe("granting a lease", () => {
  it("reserves least(wanted, half of what is available) in held, with the prices and models to draw by", async () => {
    const c = await customer(1_000_000n);
    const lease = await grant(sql, c.keyId, 300_000n, 1_000n);
    expect(lease).toMatchObject({ outcome: "granted", grantedMicros: 300_000n, reservedMicros: 300_000n });
    expect(lease.availableMicros).toBe(700_000n);
    expect(lease.ttlSeconds).toBeGreaterThan(TTL - 2);
    expect(lease.ttlSeconds).toBeLessThanOrEqual(TTL);
    expect(lease.allowedModels).toContain("fake-small");
    expect(lease.prices.find((p) => p.model === "fake-small")).toMatchObject({
      inputPriceMicros: PRICE.input,
      outputPriceMicros: PRICE.output,
      maxOutputTokens: 4096,
    });
    expect(await accountOf(sql, c.userId)).toMatchObject({
      balance_micros: 1_000_000n,
      held_micros: 300_000n,
    });

    // A second lease (another process) wants everything: it gets half of what is left (a fair share).
    const second = await grant(sql, c.keyId, 10_000_000n, 1_000n);
    expect(second.grantedMicros).toBe(350_000n);
    expect(await accountOf(sql, c.userId)).toMatchObject({ held_micros: 650_000n });
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("tops up and extends the same lease; the same nonce again answers the grant already made", async () => {
    const c = await customer(1_000_000n);
    const leaseId = randomUUID();
    await grant(sql, c.keyId, 100_000n, 100n, { leaseId, nonce: "a" });
    const top = await grant(sql, c.keyId, 50_000n, 100n, { leaseId, nonce: "b" });
    expect(top).toMatchObject({ grantedMicros: 50_000n, reservedMicros: 150_000n });
    const again = await grant(sql, c.keyId, 50_000n, 100n, { leaseId, nonce: "b" });
    expect(again).toMatchObject({ outcome: "replayed", grantedMicros: 50_000n, reservedMicros: 150_000n });
    // Extending only (want 0) grants nothing and keeps the reservation.
    const extend = await grant(sql, c.keyId, 0n, 0n, { leaseId, nonce: "c" });
    expect(extend).toMatchObject({ grantedMicros: 0n, reservedMicros: 150_000n });
    expect(await accountOf(sql, c.userId)).toMatchObject({ held_micros: 150_000n });
    expect(await leaseRow(leaseId)).toMatchObject({ status: "open", reserved_micros: 150_000n });
  });

  it("shrinks to one call's worth on a small balance, then refuses with 402 and the amounts, writing nothing", async () => {
    const c = await customer(3n * CALL);
    const first = await grant(sql, c.keyId, 100n * CALL, CALL);
    // Half of three calls is 1.5 calls: the fair share rounds down, but never below one call.
    expect(first.grantedMicros).toBe((3n * CALL) / 2n);
    const second = await grant(sql, c.keyId, 100n * CALL, CALL);
    expect(second.grantedMicros).toBe(CALL);
    const before = await sql`select count(*)::int as n from leases where key_id = ${c.keyId}`;
    const refused = await grant(sql, c.keyId, 100n * CALL, CALL).catch((e) => e);
    expect(refused).toMatchObject({ code: "insufficient_balance", status: 402 });
    expect(refused.message).toContain("$0.000125");
    expect(refused.details).toMatchObject({ neededMicros: CALL });
    expect(await sql`select count(*)::int as n from leases where key_id = ${c.keyId}`).toEqual(before);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("a refused top-up reads as the waiting call's refusal, in the hold's one sentence (the lease's unused rest available)", async () => {
    const c = await customer(3n * CALL); // 375 µ$
    const leaseId = randomUUID();
    await grant(sql, c.keyId, 100n * CALL, CALL, { leaseId }); // 187
    await grant(sql, c.keyId, 100n * CALL, CALL); // 125 more held: 63 available
    // The process's lease holds 40 µ$ no call drew: the waiting call (125) asks for the 85 it lacks.
    const refused = await grantLease(
      sql,
      {
        leaseId,
        keyId: c.keyId,
        processId: "proc-1",
        nonce: randomUUID(),
        wantMicros: 85n,
        minMicros: 85n,
        callMicros: CALL,
        unusedMicros: 40n,
      },
      { ttlSeconds: TTL },
    ).catch((e) => e);
    expect(refused).toMatchObject({ code: "insufficient_balance", status: 402 });
    expect(refused.message).toBe(
      "Insufficient balance: this call may cost up to $0.000125, but only $0.000103 is available (balance $0.000375, $0.000272 reserved by calls in progress and gateway leases). Top up to continue.",
    );
    expect(refused.details).toEqual({
      neededMicros: CALL,
      availableMicros: 103n,
      balanceMicros: 375n,
      heldMicros: 272n,
    });
  });

  it("never exceeds what the key's and the account's budgets leave; 429 when less than one call is left", async () => {
    const c = await customer(10_000_000n);
    await sql`update api_keys set daily_budget_micros = ${10n * CALL} where id = ${c.keyId}`;
    const first = await grant(sql, c.keyId, 1_000_000n, CALL);
    expect(first.grantedMicros).toBe(5n * CALL); // half of the key's room
    await grant(sql, c.keyId, 1_000_000n, CALL);
    await grant(sql, c.keyId, 1_000_000n, CALL);
    const [used] = await sql<
      { day_used_micros: bigint }[]
    >`select day_used_micros from api_keys where id = ${c.keyId}`;
    expect(used!.day_used_micros).toBeLessThanOrEqual(10n * CALL);
    await grant(sql, c.keyId, 1_000_000n, CALL).catch(() => undefined);
    const refused = await grant(sql, c.keyId, 1_000_000n, CALL).catch((e) => e);
    expect(refused).toMatchObject({ code: "budget_exceeded", status: 429 });
    expect(refused.details).toMatchObject({ scope: "key" });

    const d = await customer(10_000_000n);
    await sql`update accounts set monthly_budget_micros = ${4n * CALL} where id = ${d.accountId}`;
    expect((await grant(sql, d.keyId, 1_000_000n, CALL)).grantedMicros).toBe(2n * CALL);
  });

  it("refuses a revoked key, a suspended owner, a plan counting requests per day, and another key's lease", async () => {
    const c = await customer(1_000_000n);
    const leaseId = randomUUID();
    await grant(sql, c.keyId, 1000n, 1n, { leaseId });
    const other = await customer(1_000_000n);
    expect(await grant(sql, other.keyId, 1000n, 1n, { leaseId }).catch((e) => e)).toMatchObject({
      code: "conflict",
    });

    const [plan] = await sql<{ id: string }[]>`
      insert into plans (name, requests_per_day) values (${`capped-${randomUUID()}`}, 10) returning id`;
    await sql`update users set plan_id = ${plan!.id} where id = ${c.userId}`;
    expect(await grant(sql, c.keyId, 1000n, 1n).catch((e) => e)).toMatchObject({ code: "validation_failed" });
    await sql`update users set plan_id = null, status = 'suspended' where id = ${c.userId}`;
    expect(await grant(sql, c.keyId, 1000n, 1n).catch((e) => e)).toMatchObject({ code: "unauthorized" });
    await sql`update users set status = 'active' where id = ${c.userId}`;
    await sql`update api_keys set status = 'revoked', revoked_at = now() where id = ${c.keyId}`;
    expect(await grant(sql, c.keyId, 1000n, 1n).catch((e) => e)).toMatchObject({ code: "unauthorized" });
  });
});

describe("calls settled against a lease", () => {
  it("charge the price book, take each draw off the reservation, and count in held until settled", async () => {
    const c = await customer(1_000_000n);
    const lease = await grant(sql, c.keyId, 100_000n, 1_000n);
    const draw = 2_000n; // each call's worst case, reserved locally by the gateway
    const events = Array.from({ length: 10 }, (_, i) =>
      event(c.keyId, `lease-call-${i}`, { leaseId: lease.leaseId, drawMicros: draw }),
    );
    // The same batch delivered three times charges each call once and draws once.
    for (let i = 0; i < 3; i++) await settleUsage(sql, events);
    expect(await leaseRow(lease.leaseId)).toMatchObject({
      status: "open",
      reserved_micros: 100_000n - 10n * draw,
      drawn_micros: 10n * draw,
      charged_micros: 10n * CALL,
      calls: 10,
    });
    expect(await accountOf(sql, c.userId)).toMatchObject({
      balance_micros: 1_000_000n - 10n * CALL,
      held_micros: 100_000n - 10n * draw,
    });
    const [usage] = await sql`select count(*)::int as n, sum(draw_micros)::bigint as drawn from usage_events
                              where lease_id = ${lease.leaseId}`;
    expect(usage).toEqual({ n: 10, drawn: 10n * draw });
    // A failed call costs nothing and its draw goes back too.
    await settleUsage(sql, [
      event(c.keyId, "lease-fail", {
        leaseId: lease.leaseId,
        drawMicros: draw,
        status: "failure",
        completionTokens: 0,
      }),
    ]);
    expect(await accountOf(sql, c.userId)).toMatchObject({
      balance_micros: 1_000_000n - 10n * CALL,
      held_micros: 100_000n - 11n * draw,
    });
    // The account's daily counters hold the charges plus what is still reserved.
    const [counters] =
      await sql`select day_used_micros, day_requests from accounts where id = ${c.accountId}`;
    expect(counters).toEqual({ day_used_micros: 10n * CALL + (100_000n - 11n * draw), day_requests: 10 });
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("a lease named by another key's event is not touched (that call is charged unreserved)", async () => {
    const c = await customer(1_000_000n);
    const lease = await grant(sql, c.keyId, 100_000n, 1_000n);
    const other = await customer(1_000_000n);
    await settleUsage(sql, [event(other.keyId, "foreign", { leaseId: lease.leaseId, drawMicros: 50_000n })]);
    expect(await leaseRow(lease.leaseId)).toMatchObject({ reserved_micros: 100_000n, calls: 0 });
    const [row] = await sql`select lease_id from usage_events where key_id = ${other.keyId}`;
    expect(row).toEqual({ lease_id: null });
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });
});

describe("returning and expiring a lease", () => {
  it("a return releases what no call drew now; the in-flight share stays held until its events arrive", async () => {
    const c = await customer(1_000_000n);
    const lease = await grant(sql, c.keyId, 100_000n, 1_000n);
    // The process drew 3 calls of 10,000: one settled, two in flight; 70,000 unused.
    await settleUsage(sql, [event(c.keyId, "r-1", { leaseId: lease.leaseId, drawMicros: 10_000n })]);
    const back = await returnLease(
      sql,
      { leaseId: lease.leaseId, keyId: c.keyId, unusedMicros: 70_000n },
      { keepSeconds: 600 },
    );
    expect(back).toEqual({ releasedMicros: 70_000n, status: "closing" });
    expect(await accountOf(sql, c.userId)).toMatchObject({ held_micros: 20_000n });
    // A repeated return gives nothing more back (the in-flight share is not its to release).
    expect(
      await returnLease(
        sql,
        { leaseId: lease.leaseId, keyId: c.keyId, unusedMicros: 70_000n },
        { keepSeconds: 600 },
      ),
    ).toEqual({ releasedMicros: 0n, status: "closing" });
    // No more grants on it.
    expect(await grant(sql, c.keyId, 1000n, 1n, { leaseId: lease.leaseId }).catch((e) => e)).toMatchObject({
      code: "lease_closed",
      status: 409,
    });
    await settleUsage(sql, [
      event(c.keyId, "r-2", { leaseId: lease.leaseId, drawMicros: 10_000n }),
      event(c.keyId, "r-3", {
        leaseId: lease.leaseId,
        drawMicros: 10_000n,
        status: "failure",
        completionTokens: 0,
      }),
    ]);
    expect(await leaseRow(lease.leaseId)).toMatchObject({
      status: "closed",
      reserved_micros: 0n,
      released_micros: 70_000n,
    });
    expect(await accountOf(sql, c.userId)).toMatchObject({
      balance_micros: 1_000_000n - 2n * CALL,
      held_micros: 0n,
    });
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("a lease whose process vanished expires: everything left goes back; its calls are still charged later", async () => {
    const clock = simulatedClock(sql, "2026-11-24T12:00:00Z");
    await clock.seedPrice(modelId);
    const c = await customer(1_000_000n);
    const lease = await clock.at(clock.after(0), (db) =>
      grant(db, c.keyId, 100_000n, 1_000n, { ttlSeconds: 30 }),
    );
    expect(await accountOf(sql, c.userId)).toMatchObject({ held_micros: 100_000n });
    // Two minutes later its process has not come back.
    const { expired, releasedMicros } = await clock.at(clock.after(120_000), (db) => expireLeases(db));
    expect(expired).toBeGreaterThanOrEqual(1);
    expect(releasedMicros).toBeGreaterThanOrEqual(100_000n);
    expect(await leaseRow(lease.leaseId)).toMatchObject({
      status: "expired",
      reserved_micros: 0n,
      released_micros: 100_000n,
    });
    expect(await accountOf(sql, c.userId)).toMatchObject({ balance_micros: 1_000_000n, held_micros: 0n });
    // Its outbox delivers after a restart: the call is charged, nothing is released twice.
    const startedAt = clock.after(10_000);
    await clock.at(clock.after(180_000), (db) =>
      settleUsage(db, [
        event(c.keyId, "late", {
          leaseId: lease.leaseId,
          drawMicros: 10_000n,
          startedAt,
          endedAt: startedAt,
        }),
      ]),
    );
    expect(await accountOf(sql, c.userId)).toMatchObject({
      balance_micros: 1_000_000n - CALL,
      held_micros: 0n,
    });
    expect(await clock.at(clock.after(180_000), (db) => expireLeases(db))).toEqual({
      expired: 0,
      releasedMicros: 0n,
    });
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
    const views = await listLeases(sql, { keyId: c.keyId });
    expect(views[0]).toMatchObject({
      status: "expired",
      grantedMicros: 100_000n,
      chargedMicros: CALL,
      calls: 1,
    });
  });
});

describe("a lease across UTC midnight", () => {
  it("ends at midnight; a call drawn after it needs a new lease, counted in the new day", async () => {
    // Every moment of this test is on one clock, and so is the price its calls are charged at.
    const clock = simulatedClock(sql, "2026-11-24T23:59:50Z");
    const at = clock.at;
    await clock.seedPrice(modelId);
    const c = await customer(10_000_000n);
    const old = await at("2026-11-24T23:59:50Z", (db) => grant(db, c.keyId, 100_000n, 1_000n));
    expect(old.expiresAt).toBe("2026-11-25T00:00:00.000Z");
    expect(old.ttlSeconds).toBe(10);
    // After midnight the old lease cannot be topped up or extended…
    const late = await at("2026-11-25T00:00:01Z", (db) =>
      inTransaction(db, (sp) => grant(sp, c.keyId, 1000n, 1n, { leaseId: old.leaseId })).catch((e) => e),
    );
    expect(late).toMatchObject({ code: "lease_closed" });
    // …a new one counts in the 25th, and the old lease's call, settled now, stays in the 24th.
    const fresh = await at("2026-11-25T00:00:02Z", (db) => grant(db, c.keyId, 50_000n, 1_000n));
    await at("2026-11-25T00:00:03Z", (db) =>
      settleUsage(db, [
        event(c.keyId, "drawn-23:59:59", {
          leaseId: old.leaseId,
          drawMicros: 5_000n,
          startedAt: "2026-11-24T23:59:59Z",
        }),
        event(c.keyId, "drawn-00:00:02", {
          leaseId: fresh.leaseId,
          drawMicros: 5_000n,
          startedAt: "2026-11-25T00:00:02Z",
        }),
      ]),
    );
    const [counters] = await sql`
      select to_char(a.budget_day, 'YYYY-MM-DD') as day, a.day_used_micros as account_day, k.day_used_micros as key_day
      from accounts a, api_keys k where a.id = ${c.accountId} and k.id = ${c.keyId}`;
    // The 25th: the new lease's reservation, less its call's draw, plus its call's charge. Nothing of the 24th.
    expect(counters).toEqual({
      day: "2026-11-25",
      account_day: 50_000n - 5_000n + CALL,
      key_day: 50_000n - 5_000n + CALL,
    });
    await at("2026-11-25T00:01:00Z", (db) => expireLeases(db));
    expect(await leaseRow(old.leaseId)).toMatchObject({ status: "expired", reserved_micros: 0n });
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });
});

describe("under concurrency", () => {
  it("100 concurrent grants, holds and settlements on one account: never more reserved than the balance", async () => {
    const c = await customer(100n * CALL);
    const pool = createClient({ url, max: 16, prepare });
    try {
      const leases: GrantedLease[] = [];
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) =>
          i % 4 === 0
            ? placeHold(pool, {
                keyId: c.keyId,
                callId: `h-${i}`,
                nonce: `n-${i}`,
                model: "fake-small",
                promptTokens: 100,
                maxOutputTokens: 50,
              })
            : grant(pool, c.keyId, 20n * CALL, CALL).then((l) => {
                leases.push(l);
                return l;
              }),
        ),
      );
      expect(results.every((r) => r.status === "fulfilled" || r.reason.code === "insufficient_balance")).toBe(
        true,
      );
      const account = await accountOf(sql, c.userId);
      expect(account.held_micros).toBeLessThanOrEqual(account.balance_micros);
      expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
      // Every lease's calls settle concurrently with returns: the books stay exact, nothing goes below zero.
      await Promise.all(
        leases.map(async (l, i) => {
          const calls = Number(l.grantedMicros / CALL);
          await settleUsage(
            pool,
            Array.from({ length: calls }, (_, j) =>
              event(c.keyId, `l${i}-${j}`, { leaseId: l.leaseId, drawMicros: CALL }),
            ),
          );
          await returnLease(
            pool,
            { leaseId: l.leaseId, keyId: c.keyId, unusedMicros: l.grantedMicros - BigInt(calls) * CALL },
            { keepSeconds: 60 },
          );
        }),
      );
      const after = await accountOf(sql, c.userId);
      expect(after.balance_micros).toBeGreaterThanOrEqual(0n);
      const holds = await sql`select count(*)::int as n from holds where key_id = ${c.keyId}`;
      expect(after.held_micros).toBe(BigInt(holds[0]!.n) * CALL);
      expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});

describe("the lease epoch in the gateway's auth answer", () => {
  it("changes with a budget, a price, the plan or the key's models, and only then", async () => {
    const pepper = "p".repeat(32);
    const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
    const secret = `tg_${randomUUID().replaceAll("-", "")}`;
    const [key] = await sql<{ id: string }[]>`
      insert into api_keys (user_id, name, prefix, key_hash) values (${userId}, 'epoch', ${secret.slice(0, 10)},
      ${hashKey(secret, pepper)}) returning id`;
    const epoch = async () => {
      const v = await verifyKey(sql, secret, pepper);
      if (!v.valid) throw new Error(v.message);
      expect(v.key.billing).toBe("lease");
      return v.key.leaseEpoch;
    };
    const first = await epoch();
    expect(await epoch()).toBe(first);
    await sql`update api_keys set daily_budget_micros = 5000 where id = ${key!.id}`;
    const second = await epoch();
    expect(second).not.toBe(first);
    await sql`insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros,
                                          input_price_micros, output_price_micros)
              values (${modelId}, now() - interval '1 second', 1, 1, 2, 2)`;
    const third = await epoch();
    expect(third).not.toBe(second);
    await sql`update api_keys set allowed_models = '{fake-small}' where id = ${key!.id}`;
    expect(await epoch()).not.toBe(third);
  });
});

describe("the gateway's lease routes", () => {
  const GATEWAY = { authorization: `Bearer ${process.env.GATEWAY_SECRET}` };

  it("grant and return through HTTP: amounts as JSON integers, prices for the draws", async () => {
    const { POST } = await import("@/app/api/internal/gateway/leases/route");
    const back = (await import("@/app/api/internal/gateway/leases/return/route")).POST;
    const c = await customer(1_000_000n);
    const leaseId = randomUUID();
    const res = await call(POST, {
      headers: GATEWAY,
      body: {
        leaseId,
        keyId: c.keyId,
        processId: "gw-1",
        nonce: "n1",
        wantMicros: 200_000,
        minMicros: "1000",
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      leaseId,
      outcome: "granted",
      grantedMicros: 200_000,
      availableMicros: 800_000,
    });
    expect((res.body as { prices: { model: string }[] }).prices.map((p) => p.model)).toContain("fake-small");
    const returned = await call(back, {
      headers: GATEWAY,
      body: { leaseId, keyId: c.keyId, unusedMicros: 200_000 },
    });
    expect(returned.body).toEqual({ releasedMicros: 200_000, status: "closed" });
    expect(await accountOf(sql, c.userId)).toMatchObject({ held_micros: 0n });
  });

  it.each([
    ["a hex amount", { wantMicros: "0x10" }],
    ["a fraction", { wantMicros: 1.5 }],
    ["min above want", { wantMicros: 10, minMicros: 20 }],
    ["a negative minimum", { minMicros: -1 }],
    ["a lease id that is not a uuid", { leaseId: "lease-1" }],
    ["an unknown field", { priority: "high" }],
  ])("%s is refused with 422 and nothing is reserved", async (_, change) => {
    const { POST } = await import("@/app/api/internal/gateway/leases/route");
    const c = await customer(1_000_000n);
    const body = {
      leaseId: randomUUID(),
      keyId: c.keyId,
      processId: "gw-1",
      nonce: "n",
      wantMicros: 1000,
      minMicros: 1,
      ...change,
    };
    const res = await call(POST, { headers: GATEWAY, body });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: "validation_failed" } });
    expect(await accountOf(sql, c.userId)).toMatchObject({ held_micros: 0n });
    expect(await sql`select 1 from leases where key_id = ${c.keyId}`).toHaveLength(0);
  });
});
