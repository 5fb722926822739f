// A reservation is an upper bound of its charge across a price change (docs/adr/0038), on real PostgreSQL with the
// numbers. A hold prices a call at its own moment and a lease's draws at the versions in force when it was granted;
// settle_usage charges each call at the version in force at that same moment. A version an admin adds — backdated
// by up to the minute the API allows, or committed while a reservation reads prices — never takes effect at or before
// a reservation that could not see it, so the charge of a call that used all it reserved equals its reservation.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { grantLease } from "@/lib/billing/leases";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { addPriceVersion } from "@/lib/billing/prices";
import { priceBody } from "@/lib/billing/schemas";
import { settleUsage } from "@/lib/billing/settle";
import { createClient } from "@/lib/db/client";
import { ADMIN_ACTOR, accountOf, event, insertKey, seedPricedModel, topUp } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { priceTokens } from "../helpers/price";
import { insertUser } from "../helpers/users";

const { sql, url, prepare } = await createTestDatabase();
let adminId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
});

type Rates = { input: bigint; output: bigint };

/** A model of its own with version A (in force since three days ago), and a funded key. */
async function setup(a: Rates) {
  const name = `m-${randomUUID().slice(0, 8)}`;
  const { modelId, priceVersionId } = await seedPricedModel(sql, name, {
    ...a,
    inputCost: a.input / 2n,
    outputCost: a.output / 2n,
  });
  const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
  const keyId = await insertKey(sql, userId);
  const account = await accountOf(sql, userId);
  await topUp(sql, adminId, account.id, 1_000_000_000n);
  return { name, modelId, versionA: priceVersionId, keyId };
}

/** An admin adds version B through the product's path (POST /api/v1/prices' function). */
function addVersion(db: typeof sql, modelId: string, b: Rates, effectiveFrom: Date) {
  return addPriceVersion(db, ADMIN_ACTOR(adminId), {
    ...priceBody.parse({
      modelId,
      inputCostMicros: Number(b.input / 2n),
      outputCostMicros: Number(b.output / 2n),
      inputPriceMicros: Number(b.input),
      outputPriceMicros: Number(b.output),
    }),
    effectiveFrom,
  });
}

async function charged(keyId: string, callId: string) {
  const [row] = await sql<{ revenue: bigint; overrun: bigint | null; version: string }[]>`
    select revenue_micros as revenue, overrun_micros as overrun, price_version_id::text as version
    from usage_events where key_id = ${keyId} and call_id = ${callId}`;
  return row!;
}

const rates = fc.record({
  input: fc.bigInt({ min: 1n, max: 20_000_000n }),
  output: fc.bigInt({ min: 1n, max: 60_000_000n }),
});
/** Version B dearer than A, 2 to 10 times, so a charge at B exceeds a reservation at A. */
const dearer = fc.tuple(rates, fc.integer({ min: 2, max: 10 })).map(([a, x]) => ({
  a,
  b: { input: a.input * BigInt(x), output: a.output * BigInt(x) },
}));
const usage = fc.record({
  prompt: fc.integer({ min: 1, max: 4_000 }),
  maxOut: fc.integer({ min: 1, max: 2_000 }),
});

describe("a price change never reaches back over a reservation", () => {
  it("a hold, then a dearer version backdated up to a minute: the call is charged at the hold's version, within it", async () => {
    await fc.assert(
      fc.asyncProperty(
        dearer,
        usage,
        fc.integer({ min: 0, max: 59 }),
        async ({ a, b }, { prompt, maxOut }, back) => {
          const m = await setup(a);
          const callId = randomUUID();
          const hold = await placeHold(sql, {
            keyId: m.keyId,
            callId,
            nonce: randomUUID(),
            model: m.name,
            promptTokens: prompt,
            maxOutputTokens: maxOut,
          });
          expect(hold.priceVersionId).toBe(m.versionA);
          expect(hold.amountMicros).toBe(priceTokens({ input: prompt, output: maxOut }, a));
          // The API accepts a time up to a minute past (a client's clock): it takes effect when it is added instead.
          const version = await addVersion(sql, m.modelId, b, new Date(Date.now() - back * 1000));
          // The call used everything it was held for.
          await settleUsage(sql, [
            event(m.keyId, callId, { modelGroup: m.name, promptTokens: prompt, completionTokens: maxOut }),
          ]);
          const row = await charged(m.keyId, callId);
          expect(row).toEqual({ revenue: hold.amountMicros, overrun: null, version: m.versionA });
          const [held] = await sql<
            { created_at: Date }[]
          >`select created_at from holds where id = ${hold.holdId}`;
          expect(version.effectiveFrom.getTime()).toBeGreaterThan(held!.created_at.getTime());
          // A call held after the change is held and charged at B.
          const later = randomUUID();
          const next = await placeHold(sql, {
            keyId: m.keyId,
            callId: later,
            nonce: randomUUID(),
            model: m.name,
            promptTokens: prompt,
            maxOutputTokens: maxOut,
          });
          expect(next.amountMicros).toBe(priceTokens({ input: prompt, output: maxOut }, b));
          await settleUsage(sql, [
            event(m.keyId, later, { modelGroup: m.name, promptTokens: prompt, completionTokens: maxOut }),
          ]);
          expect(await charged(m.keyId, later)).toEqual({
            revenue: next.amountMicros,
            overrun: null,
            version: version.id,
          });
        },
      ),
      { numRuns: 12 },
    );
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("a lease, then a dearer version in force: its calls are charged at the lease's prices, within their draws", async () => {
    await fc.assert(
      fc.asyncProperty(dearer, usage, async ({ a, b }, { prompt, maxOut }) => {
        const m = await setup(a);
        const lease = await grantLease(
          sql,
          {
            leaseId: randomUUID(),
            keyId: m.keyId,
            processId: "proc-1",
            nonce: randomUUID(),
            wantMicros: 100_000_000n,
            minMicros: 0n,
          },
          { ttlSeconds: 60 },
        );
        const price = lease.prices.find((p) => p.model === m.name)!;
        expect(price.priceVersionId).toBe(m.versionA);
        const version = await addVersion(sql, m.modelId, b, new Date());
        // A call that started after B took effect, drawn from the lease before the gateway saw the key's new epoch
        // (at most its auth answer's 5 s): its draw is its worst case at the lease's prices.
        const startedAt = new Date(version.effectiveFrom.getTime() + 1).toISOString();
        const draw = priceTokens({ input: prompt, output: maxOut }, a);
        const callId = randomUUID();
        const result = await settleUsage(sql, [
          event(m.keyId, callId, {
            modelGroup: m.name,
            promptTokens: prompt,
            completionTokens: maxOut,
            startedAt,
            endedAt: startedAt,
            leaseId: lease.leaseId,
            drawMicros: draw,
          }),
        ]);
        expect(result.leaseOverruns).toEqual([]);
        expect(await charged(m.keyId, callId)).toEqual({ revenue: draw, overrun: null, version: m.versionA });
      }),
      { numRuns: 12 },
    );
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("a hold placed while a version commits waits for it, and is held at the price it will be charged", async () => {
    const a = { input: 1_000_000n, output: 3_000_000n };
    const b = { input: 5_000_000n, output: 15_000_000n };
    const m = await setup(a);
    const callId = randomUUID();
    let holding: Promise<Awaited<ReturnType<typeof placeHold>>> | undefined;
    await sql.begin(async (tx) => {
      // The version is added (and holds the price book) but not committed yet when the hold starts.
      await addVersion(tx as unknown as typeof sql, m.modelId, b, new Date());
      holding = placeHold(sql, {
        keyId: m.keyId,
        callId,
        nonce: randomUUID(),
        model: m.name,
        promptTokens: 100,
        maxOutputTokens: 100,
      });
      // The hold waits for the price book.
      await expect
        .poll(
          async () =>
            (
              await sql<{ n: number }[]>`
                select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`
            )[0]!.n,
          { timeout: 10_000 },
        )
        .toBe(1);
    });
    const hold = await holding!;
    // It started after B took effect: held at B, the version it is charged at.
    expect(hold.amountMicros).toBe(priceTokens({ input: 100, output: 100 }, b));
    await settleUsage(sql, [
      event(m.keyId, callId, { modelGroup: m.name, promptTokens: 100, completionTokens: 100 }),
    ]);
    const row = await charged(m.keyId, callId);
    expect(row.revenue).toBe(hold.amountMicros);
    expect(row.overrun).toBeNull();
  });
});

describe("a price change never stalls the platform's reservations", () => {
  it("while a hold waits for its key's row (holding the price book shared), other holds and grants go on and the price waits", async () => {
    const a = { input: 1_000_000n, output: 3_000_000n };
    const blocked = await setup(a);
    const other = await setup(a);
    const third = await setup(a);
    const hold = (m: typeof blocked) =>
      placeHold(sql, {
        keyId: m.keyId,
        callId: randomUUID(),
        nonce: randomUUID(),
        model: m.name,
        promptTokens: 10,
        maxOutputTokens: 10,
      });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    // A transaction holds the key's row (an erasure does, while it scans the audit log), until released.
    const blocker = sql.begin(async (tx) => {
      await tx`select 1 from api_keys where id = ${blocked.keyId} for update`;
      await released;
    });
    await expect
      .poll(
        async () =>
          (await sql`select 1 from api_keys where id = ${blocked.keyId} for update skip locked`).length,
      )
      .toBe(0);
    // On the file's pool like the others: no client pipelines (docs/adr/0041), so the hold and the grant below are
    // never written behind this one's wait (in two full runs of npm test before, they were, and waited past the bound).
    const waiting = hold(blocked);
    // The hold has taken the price book shared and waits for the row.
    await expect
      .poll(
        async () =>
          (
            await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query like '%place_hold%'`
          )[0]!.n,
      )
      .toBe(1);
    const adding = addVersion(sql, other.modelId, { input: 2_000_000n, output: 6_000_000n }, new Date());
    adding.catch(() => undefined); // awaited below; a failing run reports the stall, not this too
    // Meanwhile a hold and a lease grant on other accounts are served, before the blocker lets go (a stall lasts until
    // it does: the bound only keeps a failing run from waiting for ever).
    let done: unknown;
    let waits: readonly unknown[] = [];
    try {
      done = await Promise.race([
        Promise.all([
          hold(other),
          grantLease(
            sql,
            {
              leaseId: randomUUID(),
              keyId: third.keyId,
              processId: "p",
              nonce: randomUUID(),
              wantMicros: 1_000_000n,
              minMicros: 0n,
            },
            { ttlSeconds: 60 },
          ),
        ]).then(() => "served"),
        new Promise((r) => setTimeout(() => r("stalled"), 10_000)),
      ]);
      if (done !== "served") {
        // What waited on what (this database's sessions), on a connection of its own: the pool may be all waiting.
        const look = createClient({ url, max: 1, prepare });
        try {
          waits = await look`
            select pid, state, wait_event_type || ':' || wait_event as wait, pg_blocking_pids(pid) as blockers,
                   left(regexp_replace(query, '\s+', ' ', 'g'), 200) as query
            from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
        } finally {
          await look.end();
        }
      }
    } finally {
      // The blocker goes whatever happens: a failing run must not leave the file's teardown waiting for ever.
      release();
    }
    expect(done, JSON.stringify(waits)).toBe("served");
    await blocker;
    await waiting;
    // The price waited for the book and took effect after the hold that had it.
    const version = await adding;
    const [held] = await sql<{ created_at: Date }[]>`
      select created_at from holds where key_id = ${blocked.keyId} order by created_at desc limit 1`;
    expect(version.effectiveFrom.getTime()).toBeGreaterThan(held!.created_at.getTime());
  });
});
