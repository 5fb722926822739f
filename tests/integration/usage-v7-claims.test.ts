// A UUIDv7 call (the id the gate makes for every billed call, docs/adr/0028) is claimed by its own row (docs/adr/0032):
// recorded in the partition of the UTC day its id names, at its reported start unless that falls on another day, and
// kept unique there by the partition's call key index, settle_usage's ON CONFLICT arbiter. So a call is charged once
// across a partition boundary whatever start its replays and upgrades carry, in parallel batches, through the default
// partition and the job's move, after a claim made before this (in usage_calls) and after an organization's trim, with
// no claim written to usage_calls. Every moment is on a simulated clock: nothing here depends on today's date.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage, type UsageEvent } from "@/lib/billing/settle";
import type { Db } from "@/lib/db/client";
import { ensureUsagePartitions } from "@/lib/usage/partitions";
import { event, fundedCustomer, PRICE } from "../helpers/billing";
import { callIdAt } from "../helpers/call-ids";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { dayPartition } from "../helpers/partitions";
import { priceTokens } from "../helpers/price";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2027-12-30T00:00:00Z");
const at = clock.at;
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
await clock.seedPricedModel();

let customers = 0;
const customer = () => fundedCustomer(sql, adminId, `v7-${++customers}@example.com`, 1_000_000_000n);

async function balance(accountId: string): Promise<bigint> {
  const [row] = await sql<
    { balance_micros: bigint }[]
  >`select balance_micros from accounts where id = ${accountId}`;
  return row!.balance_micros;
}

/** A key's rows: partition, status, charge and recorded start, by call id. */
async function rowsOf(keyId: string) {
  return sql<{ call_id: string; part: string; status: string; revenue_micros: bigint; started: string }[]>`
    select call_id, tableoid::regclass::text as part, status, revenue_micros,
           to_char(started_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS') as started
    from usage_events where key_id = ${keyId} order by started_at, call_id`;
}

async function claimsOf(keyId: string): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`select count(*)::int as n from usage_calls where key_id = ${keyId}`;
  return row!.n;
}

const success = (keyId: string, callId: string, startedAt: string, output = 40) =>
  event(keyId, callId, { promptTokens: 100, completionTokens: output, startedAt, endedAt: startedAt });
const failure = (keyId: string, callId: string, startedAt: string) =>
  event(keyId, callId, {
    status: "failure",
    promptTokens: 0,
    completionTokens: 0,
    errorClass: "Timeout",
    startedAt,
    endedAt: startedAt,
  });

describe("a UUIDv7 call's claim is its row in its id's day", () => {
  it("charges a call whose id names 23:59:59.990 once: its failure before midnight, its success after, replays", async () => {
    await at("2027-12-31T12:00:00.000Z", (db) => ensureUsagePartitions(db));
    const c = await customer();
    const start = await balance(c.accountId);
    const id = callIdAt(Date.parse("2027-12-31T23:59:59.990Z"));
    const held = await at("2027-12-31T23:59:59.995Z", (db) =>
      placeHold(db, {
        keyId: c.keyId,
        callId: id,
        nonce: `n-${id}`,
        model: "fake-small",
        promptTokens: 100,
        maxOutputTokens: 1000,
      }),
    );
    expect(held.amountMicros).toBeGreaterThan(0n);
    const failed = failure(c.keyId, id, "2027-12-31T23:59:59.999Z");
    expect(await at("2028-01-01T00:00:01.500Z", (db) => settleUsage(db, [failed]))).toMatchObject({
      inserted: 1,
    });
    await at("2028-01-01T00:00:30.000Z", (db) => ensureUsagePartitions(db));
    // The retry's success carries LiteLLM's start, after midnight: another day than the id's, so it meets the
    // failure's row in 31 December's partition and upgrades it. Three batches at once, then replays.
    const succeeded = success(c.keyId, id, "2028-01-01T00:00:00.004Z");
    const runs = await Promise.all(
      [0, 1, 2].map(() => at("2028-01-01T00:02:00.000Z", (db) => settleUsage(db, [succeeded]))),
    );
    expect(runs.map((r) => r.inserted)).toEqual([0, 0, 0]);
    expect(runs.map((r) => r.upgraded).sort()).toEqual([0, 0, 1]);
    for (let i = 0; i < 2; i++) {
      const r = await at("2028-01-01T00:03:00.000Z", (db) => settleUsage(db, [succeeded, failed]));
      expect(r).toMatchObject({ inserted: 0, upgraded: 0 });
    }
    const charge = priceTokens({ input: 100, output: 40 }, PRICE);
    expect(await rowsOf(c.keyId)).toEqual([
      {
        call_id: id,
        part: "usage_events_p20271231",
        status: "success",
        revenue_micros: charge,
        started: "2027-12-31T23:59:59.999",
      },
    ]);
    expect(start - (await balance(c.accountId))).toBe(charge);
    expect(await claimsOf(c.keyId)).toBe(0);
    // Its hold was closed by the call's first event (the failure gives it back); the upgrade charged the call.
    const [h] = await sql<{ status: string }[]>`select status from holds where key_id = ${c.keyId}`;
    expect(h!.status).toBe("released");
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
    // Settled, the call is never held again.
    await expect(
      at("2028-01-01T00:04:00.000Z", (db) =>
        placeHold(db, {
          keyId: c.keyId,
          callId: id,
          nonce: "again",
          model: "fake-small",
          promptTokens: 1,
          maxOutputTokens: 1,
        }),
      ),
    ).rejects.toMatchObject({ code: "conflict" });
  });

  it("records a report that starts on another day than its id at the id's moment; a worse one after changes nothing", async () => {
    await at("2028-02-28T12:00:00.000Z", (db) => ensureUsagePartitions(db));
    const c = await customer();
    const id = callIdAt(Date.parse("2028-02-29T23:59:59.997Z"));
    const first = await at("2028-03-01T00:00:02.000Z", (db) =>
      settleUsage(db, [success(c.keyId, id, "2028-03-01T00:00:00.001Z")]),
    );
    expect(first.inserted).toBe(1);
    const later = await at("2028-03-01T00:00:03.000Z", (db) =>
      settleUsage(db, [failure(c.keyId, id, "2028-02-29T23:59:59.998Z")]),
    );
    expect(later).toMatchObject({ inserted: 0, upgraded: 0 });
    expect(await rowsOf(c.keyId)).toMatchObject([
      { part: "usage_events_p20280229", status: "success", started: "2028-02-29T23:59:59.997" },
    ]);
  });

  it("charges each call once when three batches with the same calls across 29 February's midnights run at once", async () => {
    await at("2028-02-27T12:00:00.000Z", (db) => ensureUsagePartitions(db));
    const c = await customer();
    const start = await balance(c.accountId);
    const moments = [
      "2028-02-28T23:59:59.999Z",
      "2028-02-29T00:00:00.000Z",
      "2028-02-29T23:59:59.999Z",
      "2028-03-01T00:00:00.000Z",
    ];
    // Each reported 5 ms after its id's moment: two of them on the next day.
    const events = moments.map((m, i) =>
      success(c.keyId, callIdAt(Date.parse(m)), new Date(Date.parse(m) + 5).toISOString(), 10 * (i + 1)),
    );
    const settle = () => at("2028-03-01T00:00:05.000Z", (db) => settleUsage(db, events));
    const results = await Promise.all([settle(), settle(), settle()]);
    expect(results.map((r) => r.inserted).sort()).toEqual([0, 0, 4]);
    expect((await rowsOf(c.keyId)).map((r) => [r.part, r.started])).toEqual([
      ["usage_events_p20280228", "2028-02-28T23:59:59.999"], // its id's moment: its report's was 1 March
      ["usage_events_p20280229", "2028-02-29T00:00:00.005"],
      ["usage_events_p20280229", "2028-02-29T23:59:59.999"],
      ["usage_events_p20280301", "2028-03-01T00:00:00.005"],
    ]);
    const charged = [1, 2, 3, 4].reduce(
      (sum, i) => sum + priceTokens({ input: 100, output: 10 * i }, PRICE),
      0n,
    );
    expect(start - (await balance(c.accountId))).toBe(charged);
    expect(await claimsOf(c.keyId)).toBe(0);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("keeps a call whose day has no partition unique in the default partition, and after the job moves it", async () => {
    const c = await customer();
    // A gateway clock ahead of the partitions made so far (settle_usage records up to a day ahead).
    await at("2029-05-10T12:00:00.000Z", (db) => ensureUsagePartitions(db));
    const id = callIdAt(Date.parse("2029-05-20T01:00:00.000Z"));
    const ahead = success(c.keyId, id, "2029-05-20T01:00:00.002Z");
    const settle = (moment: string) => at(moment, (db) => settleUsage(db, [ahead]));
    expect((await settle("2029-05-19T02:00:00.000Z")).inserted).toBe(1);
    expect((await settle("2029-05-19T02:00:01.000Z")).inserted).toBe(0);
    expect((await rowsOf(c.keyId)).map((r) => r.part)).toEqual(["usage_events_default"]);
    const moved = await at("2029-05-19T02:00:02.000Z", (db) => ensureUsagePartitions(db));
    expect(moved.rowsMoved).toBe(1);
    expect((await rowsOf(c.keyId)).map((r) => r.part)).toEqual(["usage_events_p20290520"]);
    expect((await settle("2029-05-19T02:00:03.000Z")).inserted).toBe(0);
    expect(await rowsOf(c.keyId)).toHaveLength(1);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("honours a claim written before docs/adr/0032, with its row on another day than its id's", async () => {
    await at("2030-01-01T12:00:00.000Z", (db) => ensureUsagePartitions(db));
    const c = await customer();
    const id = callIdAt(Date.parse("2030-01-01T23:59:59.995Z"));
    // As settle_usage recorded a v7 call before: its claim in usage_calls and its row at the reported start.
    await sql`
      insert into usage_events (key_id, call_id, account_id, model_group, provider_model, status, stream,
                                prompt_tokens, completion_tokens, started_at, ended_at, kind,
                                revenue_micros, price_version_id)
      select ${c.keyId}, ${id}, k.account_id, 'fake-small', 'openai/fake-small', 'failure', false, 0, 0,
             '2030-01-02T00:00:00.003Z', '2030-01-02T00:00:01Z', 'chat', 0, pv.id
      from api_keys k, models m, price_version_at(m.id, '2030-01-02T00:00:00.003Z') pv
      where k.id = ${c.keyId} and m.public_name = 'fake-small'`;
    await sql`insert into usage_calls (call_key, key_id, started_at)
              values (call_key(${id}), ${c.keyId}, '2030-01-02T00:00:00.003Z')`;
    const start = await balance(c.accountId);
    // Its success now, reported on the id's day: the claim is found, the old row upgraded, no second row.
    const r = await at("2030-01-02T00:01:00.000Z", (db) =>
      settleUsage(db, [success(c.keyId, id, "2030-01-01T23:59:59.999Z")]),
    );
    expect(r).toMatchObject({ inserted: 0, upgraded: 1 });
    expect(await rowsOf(c.keyId)).toMatchObject([{ part: "usage_events_p20300102", status: "success" }]);
    expect(start - (await balance(c.accountId))).toBe(priceTokens({ input: 100, output: 40 }, PRICE));
  });

  it("claims a UUIDv7 call in usage_calls when its id names a moment before row claims began (rows_from)", async () => {
    await at("2030-06-01T00:00:00.000Z", (db) => ensureUsagePartitions(db));
    const c = await customer();
    // A database that had usage when docs/adr/0032's migration ran: row claims from the next UTC day on.
    await sql`update usage_claims_horizon set rows_from = '2030-06-02T00:00:00Z'`;
    try {
      const before = callIdAt(Date.parse("2030-06-01T23:59:59.998Z"));
      const after = callIdAt(Date.parse("2030-06-02T00:00:00.000Z"));
      // Each reported a few milliseconds later: the first call's success on the next day, as the old path recorded it.
      const events = [
        success(c.keyId, before, "2030-06-02T00:00:00.002Z"),
        success(c.keyId, after, "2030-06-02T00:00:00.003Z"),
      ];
      const settle = () => at("2030-06-02T00:01:00.000Z", (db) => settleUsage(db, events));
      expect((await settle()).inserted).toBe(2);
      expect((await settle()).inserted).toBe(0);
      const [claims] = await sql<{ call_key: string }[]>`
        select call_key::text from usage_calls where key_id = ${c.keyId}`;
      expect(claims).toEqual({ call_key: before });
      expect((await rowsOf(c.keyId)).map((r) => [r.call_id, r.started])).toEqual([
        [before, "2030-06-02T00:00:00.002"], // its reported start: a claim in usage_calls, as before
        [after, "2030-06-02T00:00:00.003"],
      ]);
      // A worse report of the first, on its id's day, changes nothing: its claim is found.
      const worse = await at("2030-06-02T00:02:00.000Z", (db) =>
        settleUsage(db, [failure(c.keyId, before, "2030-06-01T23:59:59.999Z")]),
      );
      expect(worse).toMatchObject({ inserted: 0, upgraded: 0 });
      expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
    } finally {
      await sql`update usage_claims_horizon set rows_from = '-infinity'`;
    }
  });

  it("gives every partition its call key index: made ahead, made for a moved day, the default, and one made by hand", async () => {
    const name = await at("2031-03-01T00:00:00.000Z", async (db) => {
      await ensureUsagePartitions(db);
      await db.unsafe(
        "create table public.usage_events_p20310320 partition of usage_events for values from ('2031-03-20T00:00:00Z') to ('2031-03-21T00:00:00Z')",
      );
      return "usage_events_p20310320";
    });
    // Judged by the index itself (unique, valid, on (call_key(call_id), key_id)), whatever its name.
    const missing = () => sql<{ relname: string }[]>`
      select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'usage_events'::regclass and not has_call_key_index(c.oid) order by 1`;
    expect((await missing()).map((r) => r.relname)).toEqual([name]);
    await at("2031-03-01T00:01:00.000Z", (db) => ensureUsagePartitions(db));
    expect(await missing()).toEqual([]);
    // And the tests' own partitions are made the same way.
    await dayPartition(sql, "2031-04-01");
    expect(await missing()).toEqual([]);
    // A partition made by hand whose rows repeat a call cannot have it: the job warns, leaves it, and still makes the
    // days to come.
    await sql.unsafe(
      "create table public.usage_events_p20310410 partition of usage_events for values from ('2031-04-10T00:00:00Z') to ('2031-04-11T00:00:00Z')",
    );
    const c = await customer();
    for (let i = 0; i < 2; i++)
      await sql`
        insert into usage_events (key_id, call_id, account_id, model_group, provider_model, status, stream,
                                  prompt_tokens, completion_tokens, started_at, ended_at, kind)
        select ${c.keyId}, 'twice', k.account_id, 'fake-small', '', 'success', false, 1, 1,
               '2031-04-10T01:00:00Z', '2031-04-10T01:00:00Z', 'chat'
        from api_keys k where k.id = ${c.keyId}`;
    const made = await at("2031-04-20T00:00:00.000Z", (db) => ensureUsagePartitions(db));
    expect(made.partitionsCreated).toBeGreaterThan(0);
    expect((await missing()).map((r) => r.relname)).toEqual(["usage_events_p20310410"]);
    await sql`drop table usage_events_p20310410`;

    // A partition detached and renamed keeps its index's name; the partition made again under its old name (a
    // restore) is still given an index, under a name PostgreSQL picks, and a call in it is charged once.
    await sql`alter table usage_events detach partition usage_events_p20310421`;
    await sql`alter table usage_events_p20310421 rename to usage_events_p20310421_old`;
    await sql.unsafe(
      "create table public.usage_events_p20310421 partition of usage_events for values from ('2031-04-21T00:00:00Z') to ('2031-04-22T00:00:00Z')",
    );
    expect((await missing()).map((r) => r.relname)).toEqual(["usage_events_p20310421"]);
    await at("2031-04-20T00:01:00.000Z", (db) => ensureUsagePartitions(db));
    expect(await missing()).toEqual([]);
    const id = callIdAt(Date.parse("2031-04-21T10:00:00.000Z"));
    const once = success(c.keyId, id, "2031-04-21T10:00:00.001Z");
    for (let i = 0; i < 2; i++) await at("2031-04-21T10:01:00.000Z", (db) => settleUsage(db, [once]));
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from usage_events where call_id = ${id}`;
    expect(n!.n).toBe(1);
  });

  it("refuses a batch with a call of a day retention is dropping, to be sent again once the day is kept or gone", async () => {
    await at("2032-06-01T00:00:00.000Z", (db) => ensureUsagePartitions(db));
    const c = await customer();
    const id = callIdAt(Date.parse("2032-06-01T08:00:00.000Z"));
    const batch = [
      success(c.keyId, id, "2032-06-01T08:00:00.002Z"),
      success(c.keyId, "other-call", "2032-06-01T08:00:00Z"),
    ];
    // Retention closed the day and has not dropped it yet (it may still refuse it): the whole batch is refused.
    await sql`select close_usage_days(array['2032-06-01'::date])`;
    await expect(at("2032-06-01T09:00:00.000Z", (db) => settleUsage(db, batch))).rejects.toMatchObject({
      code: "TG503",
    });
    expect(await rowsOf(c.keyId)).toEqual([]);
    // Kept (the run refused the partition and opened the day again): the batch sent again is recorded.
    await sql`delete from usage_closed_days where day = '2032-06-01' and not dropped`;
    expect((await at("2032-06-01T09:00:01.000Z", (db) => settleUsage(db, batch))).inserted).toBe(2);
  });

  it("charges every call exactly once at its best outcome, whatever reports, starts, batches and races (generated)", async () => {
    await at("2032-12-30T00:00:00.000Z", (db) => ensureUsagePartitions(db));
    const midnights = ["2032-12-31T00:00:00.000Z", "2033-01-01T00:00:00.000Z"].map(Date.parse);
    const outcome = fc.constantFrom("success", "cut", "failure") as fc.Arbitrary<UsageEvent["status"]>;
    const call = fc.record({
      // The id's moment within 3 s of a midnight, each report's start 0–3 s after it (the gate makes the id first).
      midnight: fc.constantFrom(...midnights),
      offsetMs: fc.integer({ min: -3000, max: 3000 }),
      reports: fc.array(
        fc.record({
          status: outcome,
          lagMs: fc.integer({ min: 0, max: 3000 }),
          output: fc.integer({ min: 1, max: 500 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(call, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }), // batches
        fc.integer({ min: 1, max: 3 }), // copies of each batch sent at once
        fc.integer({ min: 0, max: 2 ** 31 - 1 }), // shuffle seed
        async (calls, batches, copies, seed) => {
          const c = await customer();
          const start = await balance(c.accountId);
          const best = new Map<string, { status: string; output: number; day: string }>();
          const rank = { success: 2, cut: 1, failure: 0 } as const;
          const events = calls.flatMap((k) => {
            const ms = k.midnight + k.offsetMs;
            const id = callIdAt(ms);
            const day = new Date(ms).toISOString().slice(0, 10).replaceAll("-", "");
            return k.reports.map((r) => {
              const top = best.get(id);
              if (!top || rank[r.status] > rank[top.status as keyof typeof rank])
                best.set(id, { status: r.status, output: r.output, day });
              const startedAt = new Date(ms + r.lagMs).toISOString();
              return r.status === "failure"
                ? failure(c.keyId, id, startedAt)
                : event(c.keyId, id, {
                    status: r.status,
                    promptTokens: 100,
                    completionTokens: r.output,
                    startedAt,
                    endedAt: startedAt,
                  });
            });
          });
          // Reports in a shuffled order, cut into batches; each batch sent `copies` times at once.
          let s = seed;
          const next = () => {
            s = (s * 1103515245 + 12345) % 2 ** 31;
            return s;
          };
          const shuffled = events
            .map((e) => ({ e, k: next() }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.e);
          const size = Math.ceil(shuffled.length / batches);
          for (let b = 0; b * size < shuffled.length; b++) {
            const batch = shuffled.slice(b * size, (b + 1) * size);
            await Promise.all(
              Array.from({ length: copies }, () =>
                at("2033-01-01T00:00:10.000Z", (db: Db) => settleUsage(db, batch)),
              ),
            );
          }
          const rows = await rowsOf(c.keyId);
          expect(rows).toHaveLength(best.size);
          for (const r of rows) {
            const want = best.get(r.call_id)!;
            expect(r.part).toBe(`usage_events_p${want.day}`);
            // The best outcome reported: an upgrade's counts are the best report's only when it is the first of its
            // rank, so the charge is checked as a whole below.
            expect(r.status).toBe(want.status);
          }
          const charged = rows.reduce((sum, r) => sum + r.revenue_micros, 0n);
          expect(start - (await balance(c.accountId))).toBe(charged);
          expect(rows.filter((r) => r.status === "failure").every((r) => r.revenue_micros === 0n)).toBe(true);
          expect(await claimsOf(c.keyId)).toBe(0);
          expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
        },
      ),
      { numRuns: 25, seed: 20261206 },
    );
  }, 180_000); // 25 runs of up to 8 calls, each batch up to 3 times at once: ~17 s alone, several times that in a full suite
});
