// Retention after the outside review of ADR 0022 (docs/adr/0022-usage-retention.md): a dropped day's sums are kept, so
// settling it again (an admin, a late call that made its partition again) rebuilds the same roll-ups and never wipes
// another account's; a day being settled again is not verified; a replay of a dropped day's call is not charged again
// (its claim outlives the detail); the drop never makes today's calls queue behind a long read; the drain's budget is
// kept per partition; a refused day keeps its hourly roll-ups; an organization's trim waits for the month's statements
// and the gateway's replay window; a BC partition is skipped; a failed run keeps the refused-days alert and a run cut
// off mid-way is closed. Every moment is simulated: nothing depends on today's date.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { config } from "@/lib/config";
import { createClient } from "@/lib/db/client";
import { runRetention, verifyDay } from "@/lib/retention/run";
import { ADMIN_ACTOR, event } from "../helpers/billing";
import { callIdAt } from "../helpers/call-ids";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { untilLockWaited } from "../helpers/locks";
import { createTestOrganization } from "../helpers/orgs";
import { retentionFixture } from "../helpers/retention";
import { signal } from "../helpers/signal";

const { sql, url, prepare } = await createTestDatabase();
const clock = simulatedClock(sql, "2027-01-01T00:00:00Z");
let adminId: string;

const fixture = retentionFixture(sql, clock);
const { partitionFor, partitionExists, customer, settleDay, runAt } = fixture;

beforeAll(async () => {
  adminId = await fixture.setUp();
});

/**
 * `count` calls on a key at `day`'s `hour`, settled through settle_usage; returns their events. Their ids are text
 * (claimed in usage_calls), or UUIDv7s as the gateway makes them (`v7`: each claimed by its row, docs/adr/0032).
 */
async function callsOn(day: string, keyId: string, count: number, hour = 13, ids: "text" | "v7" = "text") {
  const at = `${day}T${String(hour).padStart(2, "0")}:00:00.000Z`;
  const events = Array.from({ length: count }, (_, i) =>
    event(keyId, ids === "v7" ? callIdAt(Date.parse(at)) : `${day}-${randomUUID()}`, {
      startedAt: at,
      endedAt: at,
      completionTokens: 10 + i,
    }),
  );
  await clock.at(at, (tx) => settleUsage(tx, events));
  return events;
}

const rollups = (day: string) => sql`
  select account_id, key_id, model_group, billing_status, requests, tokens_in, tokens_out, cost_micros, revenue_micros
  from usage_rollups where day = ${day} order by account_id, key_id, model_group, billing_status`;

const balance = async (accountId: string) =>
  (await sql<{ b: bigint }[]>`select balance_micros as b from accounts where id = ${accountId}`)[0]!.b;

describe("a dropped day settled again", () => {
  it("keeps its roll-ups whatever the range, and adds a late call to them", async () => {
    const day = "2027-01-02";
    const name = await partitionFor(day);
    // Three accounts; the middle one (by id) has no late call, the two others do.
    const people = (await Promise.all([customer(), customer(), customer()])).sort((a, b) =>
      a.accountId.localeCompare(b.accountId),
    );
    for (const p of people) await callsOn(day, p.keyId, 3);
    await settleDay(day);
    const settled = await rollups(day);
    expect(settled.length).toBe(3);

    await runAt("2027-01-10T04:00:00Z");
    expect(await partitionExists(name)).toBe(false);
    expect(await rollups(day)).toEqual(settled);
    // An admin settles the dropped day again (the Settlement page, /api/cron/settle?day=): nothing changes.
    await settleDay(day);
    expect(await rollups(day)).toEqual(settled);

    // A late call for the first and the last account: the partition job makes the day again; startSettlement's
    // chunk covers min..max of the accounts with usage that day, the middle one included.
    await partitionFor(day);
    const [first, middle, last] = people;
    const late = [...(await callsOn(day, first!.keyId, 1, 22)), ...(await callsOn(day, last!.keyId, 1, 22))];
    expect((await verifyDay(sql, day)).reason).toBe("rollups_disagree");
    await settleDay(day, { range: { fromAccount: first!.accountId, toAccount: last!.accountId } });
    const after = await rollups(day);
    const requests = (id: string) =>
      after.filter((r) => r.account_id === id).reduce((n, r) => n + Number(r.requests), 0);
    expect([requests(first!.accountId), requests(middle!.accountId), requests(last!.accountId)]).toEqual([
      4, 3, 4,
    ]);
    expect(after.find((r) => r.account_id === middle!.accountId)).toEqual(
      settled.find((r) => r.account_id === middle!.accountId),
    );
    const [lateRevenue] = await sql<{ sum: bigint }[]>`
      select sum(revenue_micros)::bigint as sum from usage_events
      where call_id in ${sql(late.map((e) => e.callId))}`;
    const total = (rows: typeof settled) => rows.reduce((n, r) => n + BigInt(r.revenue_micros), 0n);
    expect(total(after)).toBe(total(settled) + lateRevenue!.sum);
    // The day verifies again and leaves again, its sums kept once more.
    expect((await verifyDay(sql, day)).ok).toBe(true);
    await runAt("2027-01-10T05:00:00Z");
    expect(await partitionExists(name)).toBe(false);
    await settleDay(day);
    expect(await rollups(day)).toEqual(after);
  });

  it("is not verified while a new settlement of it is running", async () => {
    const day = "2027-01-03";
    await partitionFor(day);
    await settleDay(day);
    expect((await verifyDay(sql, day)).ok).toBe(true);
    const [run] = await sql<{ id: string }[]>`
      insert into settlement_runs (day, trigger, jobs_total) values (${day}, 'manual', 2) returning id`;
    expect(await verifyDay(sql, day)).toMatchObject({ ok: false, reason: "settlement_running" });
    await sql`update settlement_runs set status = 'completed', finished_at = now() where id = ${run!.id}`;
  });
});

describe("a call replayed after its day left", () => {
  it("is not charged again: its claim outlives the detail", async () => {
    const day = "2027-01-04";
    await partitionFor(day);
    const c = await customer();
    const [call] = await callsOn(day, c.keyId, 1);
    const charged = await balance(c.accountId);
    await settleDay(day);
    const summary = await runAt("2027-01-12T04:00:00Z");
    expect(summary.refused.filter((r) => r.day === day)).toEqual([]);
    expect(summary.callsPruned).toBe(0);
    const replay = await clock.at("2027-01-13T09:00:00Z", (tx) => settleUsage(tx, [call!]));
    expect(replay.inserted).toBe(0);
    expect(await balance(c.accountId)).toBe(charged);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });
});

describe("the drop and today's calls", () => {
  it("while a long read of usage_events is open, the drop gives way instead of making ingest wait", async () => {
    const day = "2027-01-05";
    const name = await partitionFor(day);
    await partitionFor("2027-01-14");
    const c = await customer();
    await callsOn(day, c.keyId, 1);
    await settleDay(day);
    const reader = createClient({ url, max: 1, prepare });
    const ingest = createClient({ url, max: 1, prepare });
    try {
      const { promise: held, fire: release } = signal();
      // An analytics page's read (any read of the parent holds ACCESS SHARE on it to its end).
      const { promise: readHolds, fire: reads } = signal();
      const reading = reader.begin(async (r) => {
        await r`select count(*) from usage_events where started_at >= '2027-01-01'`;
        reads();
        await held;
      });
      await readHolds;
      await ingest`select 1`; // connected before the ingest is timed
      const retention = runAt("2027-01-14T04:00:00Z", { lockTimeoutMs: 4000 });
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      await ingest.begin(async (tx) => {
        await tx`select set_config('tollgate.now', '2027-01-14T04:00:01Z', true)`;
        await settleUsage(tx, [
          event(c.keyId, `now-${randomUUID()}`, {
            startedAt: "2027-01-14T04:00:00.000Z",
            endedAt: "2027-01-14T04:00:01.000Z",
          }),
        ]);
      });
      const ingestMs = performance.now() - t0;
      const summary = await retention;
      release();
      await reading;
      expect(ingestMs).toBeLessThan(DROP_WAIT_BOUND_MS);
      // The lock never came within its budget: the day is refused as failed, kept, and the next run drops it.
      expect(summary.refused).toContainEqual({ day, reason: "failed" });
      expect(await partitionExists(name)).toBe(true);
      await runAt("2027-01-14T05:00:00Z");
      expect(await partitionExists(name)).toBe(false);
    } finally {
      await reader.end();
      await ingest.end();
    }
  });
});

/**
 * A writer waits at most one attempt at the drop's lock (DROP_LOCK_WAIT_MS), plus its own work on a loaded machine:
 * well under the run's lock budget (4 s), which a writer queued behind the whole wait would take.
 */
const DROP_WAIT_BOUND_MS = 1500;

describe("the drain's budget", () => {
  it("a run cut off mid-way is closed as failed by the next; a failed run keeps the refused-days alert", async () => {
    const [stale] = await sql<{ id: string }[]>`
      insert into retention_runs (trigger, as_of, started_at) values ('cron', now(), now() - interval '2 hours')
      returning id`;
    const day = "2027-01-09";
    await partitionFor(day);
    const c = await customer();
    await callsOn(day, c.keyId, 1);
    const refused = await runAt("2027-01-17T04:00:00Z");
    expect(refused.refused).toContainEqual({ day, reason: "not_settled" });
    expect(await sql`select status, error from retention_runs where id = ${stale!.id}`).toEqual([
      { status: "failed", error: "abandoned: did not finish" },
    ]);
    // A later run that failed before it got to the refused day: the alert stays, and says the run failed.
    await sql`
      insert into retention_runs (trigger, as_of, status, started_at, finished_at, error)
      values ('cron', now(), 'failed', now() + interval '1 minute', now() + interval '2 minutes', 'boom')`;
    const { scrape } = await import("@/lib/metrics/scrape");
    const body = (await scrape(sql)).body;
    expect(body).toContain('tollgate_last_retention{measure="days_refused"} 1');
    expect(body).toContain('tollgate_last_retention{measure="failed"} 1');
    await sql`delete from retention_runs where status = 'failed' and error = 'boom'`;
    await settleDay(day);
  });

  it("the admin's Run now is recorded as manual", async () => {
    const { scheduleRetention } = await import("@/lib/retention/run");
    const { jobId } = await scheduleRetention(sql, "2027-01-18", "manual");
    const [job] = await sql`select payload from queue_jobs where id = ${jobId}`;
    expect(job!.payload).toMatchObject({ trigger: "manual" });
    await sql`delete from queue_jobs where id = ${jobId}`;
  });

  it("is looked at before each partition, each committed on its own", async () => {
    const days = ["2027-01-20", "2027-01-21", "2027-01-22", "2027-01-23", "2027-01-24"];
    const c = await customer();
    for (const day of days) {
      await partitionFor(day);
      await callsOn(day, c.keyId, 2);
      await settleDay(day);
    }
    // A late write to the second day holds its lock: checking that day waits for it, past the run's deadline.
    const writer = createClient({ url, max: 1, prepare });
    const { promise: held, fire: release } = signal();
    const [, second, ...rest] = days.map((d) => `usage_events_p${d.replaceAll("-", "")}`);
    const { promise: lockHeld, fire: locked } = signal();
    const writing = writer.begin(async (w) => {
      await w`lock table ${w(second!)} in row exclusive mode`;
      locked();
      await held;
    });
    try {
      await lockHeld;
      // The deadline leaves the first day ample time on a slow host, and passes while the second waits for its lock.
      const summary = await runRetention(sql, {
        asOf: new Date("2027-02-02T04:00:00Z"),
        deadline: Date.now() + 3000,
        lockTimeoutMs: 5000,
      });
      // The first day left (its own commit); the second is refused; the rest wait for the follow-up run.
      expect(await partitionExists(`usage_events_p${days[0]!.replaceAll("-", "")}`)).toBe(false);
      expect(summary.refused.filter((r) => days.includes(r.day))).toEqual([
        { day: days[1], reason: "failed" },
      ]);
      for (const name of rest) expect(await partitionExists(name!)).toBe(true);
      expect(summary.continued).toBe(true);
      await sql`delete from queue_jobs where singleton_key = ${`retention.run:after:${summary.runId}`}`;
    } finally {
      release();
      await writing;
      await writer.end();
    }
    await runAt("2027-02-02T05:00:00Z");
    for (const day of days)
      expect(await partitionExists(`usage_events_p${day.replaceAll("-", "")}`)).toBe(false);
  });
});

describe("a refused day's hourly roll-ups", () => {
  it("stay while its detail waits, so it verifies and leaves once settled", async () => {
    const day = "2027-02-01";
    const name = await partitionFor(day);
    const c = await customer();
    await callsOn(day, c.keyId, 3);
    const hourly = async () =>
      (
        await sql<{ n: number }[]>`
          select coalesce(sum(calls), 0)::int as n from usage_hourly
          where hour >= ${day}::timestamp and hour < ${day}::timestamp + interval '1 day'`
      )[0]!.n;
    const before = await hourly();
    expect(before).toBeGreaterThanOrEqual(3);
    // Past the hourly policy too (30 days), still unsettled: refused, and its hourly roll-ups kept.
    const first = await runAt("2027-03-04T04:00:00Z");
    expect(first.refused).toContainEqual({ day, reason: "not_settled" });
    expect(await hourly()).toBe(before);
    await settleDay(day);
    const second = await runAt("2027-03-05T04:00:00Z");
    expect(second.refused.filter((r) => r.day === day)).toEqual([]);
    expect(await partitionExists(name)).toBe(false);
  });
});

describe("an organization's shorter policy", () => {
  it("trims nothing within the replay window nor before its month's statements are closed", async () => {
    const day = "2027-03-03";
    const name = await partitionFor(day);
    const org = await createTestOrganization(sql, {
      pepper: config().KEY_PEPPER,
      balanceMicros: 10_000_000n,
      members: [{ role: "owner" }],
    });
    const keyId = org.members[0]!.keys[0]!.id;
    const callId = `upg-${randomUUID()}`;
    // A failure late in the day; its success is reported later (the gateway's replay of the call).
    await clock.at(`${day}T23:59:31Z`, (tx) =>
      settleUsage(tx, [
        event(keyId, callId, {
          status: "failure",
          errorClass: "Timeout",
          promptTokens: 0,
          completionTokens: 0,
          startedAt: `${day}T23:59:00.000Z`,
          endedAt: `${day}T23:59:30.000Z`,
        }),
      ]),
    );
    const trimmedCalls = await callsOn(day, keyId, 2, 9, "v7");
    await settleDay(day);
    await sql`update retention_settings set usage_detail_days = 60, hourly_rollup_days = 60`;
    try {
      await sql`insert into organization_retention (organization_id, usage_detail_days) values (${org.id}, 1)`;
      const { computeStatement } = await import("@/lib/statements/compute");
      const statement = await computeStatement(sql, org.accountId, "2027-03");
      expect(statement.chargesByMember.map((g) => g.label)).not.toContain("Unattributed");

      // Past the organization's day but within the replay window: kept, and the success is charged.
      expect((await runAt("2027-03-05T00:10:00Z")).orgRowsTrimmed).toBe(0);
      const before = await balance(org.accountId);
      const r = await clock.at("2027-03-05T00:11:00Z", (tx) =>
        settleUsage(tx, [
          event(keyId, callId, { startedAt: `${day}T23:59:05.000Z`, endedAt: `${day}T23:59:35.000Z` }),
        ]),
      );
      expect(r.upgraded).toBe(1);
      expect(await balance(org.accountId)).toBeLessThan(before);
      await settleDay(day);

      // Past the replay window, March's statements still open: kept, the statement's breakdown intact.
      expect((await runAt("2027-03-20T04:00:00Z")).orgRowsTrimmed).toBe(0);
      const open = await computeStatement(sql, org.accountId, "2027-03");
      expect(open.chargesByMember.map((g) => g.label)).toEqual(statement.chargesByMember.map((g) => g.label));
      expect(open.chargesByKey.map((g) => g.label)).not.toContain("Unattributed");

      // March closed: the organization's rows of the day go, its sums kept; the day still verifies. A replay of the
      // trimmed calls arriving while the trim's transaction is open (held here at its sums' insert, its rows deleted)
      // waits for it on the calls' key, then finds the claims left behind: never recorded nor charged again.
      await sql`insert into statement_months (month, statements) values ('2027-03-01', 0)`;
      await sql`
        create function test_trim_pause() returns trigger language plpgsql as $$
        begin perform pg_advisory_xact_lock_shared(4242); return null; end $$`;
      await sql`create trigger test_trim_pause after insert on retention_trimmed_usage
                for each statement execute function test_trim_pause()`;
      const holder = await sql.reserve();
      await holder`select pg_advisory_lock(4242)`;
      const beforeRace = await balance(org.accountId);
      let trimmedRun: Promise<{ orgRowsTrimmed: number }>;
      let racing: Promise<{ inserted: number; trimmed: number }>;
      try {
        trimmedRun = runAt("2027-04-02T04:00:00Z");
        await untilLockWaited(sql, { atLeast: 1 }); // the trim, at its sums
        racing = clock.at("2027-04-02T04:00:01Z", (tx) => settleUsage(tx, trimmedCalls));
        await untilLockWaited(sql, { atLeast: 2 }); // and the replay, behind it
      } finally {
        await holder`select pg_advisory_unlock(4242)`;
        holder.release();
      }
      expect((await trimmedRun!).orgRowsTrimmed).toBe(3);
      expect(await racing!).toMatchObject({ inserted: 0, trimmed: 2 });
      expect(await balance(org.accountId)).toBe(beforeRace);
      await sql`drop trigger test_trim_pause on retention_trimmed_usage`;
      await sql`drop function test_trim_pause()`;
      const [left] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(name)}`;
      expect(left!.n).toBe(0);
      expect((await verifyDay(sql, day)).ok).toBe(true);
      // Its claims stay, a UUIDv7 call's left behind by its row (docs/adr/0032): a replay of a trimmed call changes
      // nothing and is counted as trimmed.
      const [claims] = await sql<{ n: number }[]>`
        select count(*)::int as n from usage_calls where key_id = ${keyId}`;
      expect(claims!.n).toBe(3);
      const trimmedBalance = await balance(org.accountId);
      const replay = await clock.at("2027-04-02T05:00:00Z", (tx) => settleUsage(tx, trimmedCalls));
      expect(replay).toMatchObject({ inserted: 0, trimmed: 2 });
      expect(await balance(org.accountId)).toBe(trimmedBalance);
    } finally {
      await sql`update retention_settings set usage_detail_days = 7, hourly_rollup_days = 30`;
    }
  });
});

describe("a partition whose bounds JavaScript cannot read", () => {
  it("is skipped by the job and the admin page, which go on with the other days", async () => {
    await sql.unsafe(
      `create table public.usage_events_bc partition of usage_events for values from ('0002-01-01 00:00:00+00 BC') to ('0001-01-01 00:00:00+00 BC')`,
    );
    try {
      const day = "2027-04-05";
      const name = await partitionFor(day);
      const c = await customer();
      await callsOn(day, c.keyId, 1);
      await settleDay(day);
      const { retentionOverview } = await import("@/lib/retention/views");
      const overview = await clock.at("2027-04-13T03:00:00Z", (tx) =>
        retentionOverview(tx, ADMIN_ACTOR(adminId)),
      );
      expect(overview.partitions.some((p) => p.name === name)).toBe(true);
      const summary = await runAt("2027-04-13T04:00:00Z");
      expect(summary.refused.filter((r) => r.day === day)).toEqual([]);
      expect(await partitionExists(name)).toBe(false);
      expect(await partitionExists("usage_events_bc")).toBe(true);
    } finally {
      await sql`drop table if exists usage_events_bc`;
    }
  });
});

// Last: the claims horizon only moves forward, and settle_usage takes no call before it.
describe("the claims of dropped days", () => {
  it("leave 7 days past the detail (a day more for a call's later event), after the claims horizon, which an unsettled day still here holds back; a replay then is counted as expired, not charged", async () => {
    const day = "2027-05-03";
    const refusedDay = "2027-05-02";
    await partitionFor(day);
    const refusedName = await partitionFor(refusedDay);
    const c = await customer();
    const [call] = await callsOn(day, c.keyId, 1);
    const [unsettled] = await callsOn(refusedDay, c.keyId, 1);
    await settleDay(day);
    // Earlier cases' days still here are settled, so they leave: only this case's refused day holds the horizon back.
    const earlier = await sql<{ day: string }[]>`
      select to_char(from_at at time zone 'utc', 'YYYY-MM-DD') as day from usage_partitions()
      where not is_default and from_at > '2000-01-01' and from_at < ${`${refusedDay}T00:00:00Z`}`;
    for (const { day: d } of earlier) await settleDay(d);
    const claimOf = async (callId: string) =>
      (
        await sql<
          { n: number }[]
        >`select count(*)::int as n from usage_calls where call_key = call_key(${callId})`
      )[0]!.n;
    const horizon = async () =>
      (
        await sql<{ kept_from: Date }[]>`select kept_from from usage_claims_horizon`
      )[0]!.kept_from.toISOString();

    // Dropped a week after; its claim stays for 7 more days.
    await runAt("2027-05-11T04:00:00Z");
    expect(await claimOf(call!.callId)).toBe(1);
    const charged = await balance(c.accountId);
    // The unsettled day is refused and still here: the horizon stops at its start, so its calls (and a replay of
    // any call after it) are still recorded and charged once; no claim after it goes.
    await runAt("2027-05-18T04:00:00Z");
    expect(await partitionExists(refusedName)).toBe(true);
    expect(await horizon()).toBe("2027-05-02T00:00:00.000Z");
    expect(await claimOf(call!.callId)).toBe(1);
    expect(await claimOf(unsettled!.callId)).toBe(1);
    // Settled, it leaves at the next run; the horizon moves to 7 days past the detail, and the claims of calls
    // started a day before it go.
    await settleDay(refusedDay);
    const summary = await runAt("2027-05-19T04:00:00Z");
    expect(await partitionExists(refusedName)).toBe(false);
    expect(await horizon()).toBe("2027-05-05T00:00:00.000Z");
    expect(summary.callsPruned).toBeGreaterThanOrEqual(2);
    expect(await claimOf(call!.callId)).toBe(0);
    expect(await claimOf(unsettled!.callId)).toBe(0);

    // The day's kept sums went with its claims: no call of it is recorded any more, so its roll-ups are final and a
    // new settlement of it leaves them as they are.
    expect(await sql`select day from retention_trimmed_usage where day = ${day}`).toEqual([]);
    const final = await rollups(day);
    expect(final.length).toBe(1);
    await settleDay(day);
    expect(await rollups(day)).toEqual(final);

    const replay = await clock.at("2027-05-19T05:00:00Z", (tx) => settleUsage(tx, [call!]));
    expect(replay).toMatchObject({ inserted: 0, expired: 1 });
    expect(await balance(c.accountId)).toBe(charged);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });
});

// After the claims horizon's tests (their runs stand in June, past every day above): a UUIDv7 call is claimed by its
// row (docs/adr/0032), so its day is closed before its partition goes.
describe("the days a run closes", () => {
  it("is not charged again when its id is a UUIDv7: its day is closed before its partition (its claim) goes", async () => {
    const day = "2027-06-05";
    const refusedDay = "2027-06-06";
    await partitionFor(day);
    await partitionFor(refusedDay);
    const c = await customer();
    const [call] = await callsOn(day, c.keyId, 1, 13, "v7");
    const [late] = await callsOn(refusedDay, c.keyId, 1, 13, "v7");
    const charged = await balance(c.accountId);
    await settleDay(day); // refusedDay is left unsettled: retention refuses it and it stays
    const summary = await runAt("2027-06-14T04:00:00Z");
    expect(await partitionExists(`usage_events_p${day.replaceAll("-", "")}`)).toBe(false);
    expect(summary.refused.map((r) => r.day)).toContain(refusedDay);
    const closedDays = await sql<{ day: string }[]>`
      select to_char(day, 'YYYY-MM-DD') as day from usage_closed_days where day between ${day} and ${refusedDay}`;
    expect(closedDays.map((d) => d.day)).toEqual([day]);
    // The dropped day's call: counted as expired, recorded nowhere (not in the default partition), charged nothing.
    const replay = await clock.at("2027-06-14T09:00:00Z", (tx) => settleUsage(tx, [call!]));
    expect(replay).toMatchObject({ inserted: 0, expired: 1 });
    const [again] = await sql<
      { n: number }[]
    >`select count(*)::int as n from usage_events where call_id = ${call!.callId}`;
    expect(again!.n).toBe(0);
    // The refused day stays open: its call's replay is known by its row, a new call of it still recorded.
    const lateReplay = await clock.at("2027-06-14T09:00:01Z", (tx) => settleUsage(tx, [late!]));
    expect(lateReplay).toMatchObject({ inserted: 0, expired: 0 });
    const [fresh] = await callsOn(refusedDay, c.keyId, 1, 14, "v7");
    expect(await balance(c.accountId)).toBeLessThan(charged);
    const [n] = await sql<
      { n: number }[]
    >`select count(*)::int as n from usage_events where call_id = ${fresh!.callId}`;
    expect(n!.n).toBe(1);
    await settleDay(refusedDay);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });
  it("are every day of a partition that spans several: no UUIDv7 call of any of them is recorded again", async () => {
    const [first, second] = ["2027-06-20", "2027-06-21"];
    await sql.unsafe(
      `create table public.usage_events_p20270620_2 partition of usage_events for values from ('${first}T00:00:00Z') to ('2027-06-22T00:00:00Z')`,
    );
    await sql.unsafe(
      "create unique index usage_events_p20270620_2_call_key_idx on public.usage_events_p20270620_2 (call_key(call_id), key_id)",
    );
    const c = await customer();
    const calls = [
      ...(await callsOn(first, c.keyId, 1, 13, "v7")),
      ...(await callsOn(second, c.keyId, 1, 13, "v7")),
    ];
    await settleDay(first);
    await settleDay(second);
    const charged = await balance(c.accountId);
    await runAt("2027-06-30T04:00:00Z");
    expect(await partitionExists("usage_events_p20270620_2")).toBe(false);
    const replay = await clock.at("2027-06-30T09:00:00Z", (tx) => settleUsage(tx, calls));
    expect(replay).toMatchObject({ inserted: 0, expired: 2 });
    expect(await balance(c.accountId)).toBe(charged);
    const closed = await sql<{ day: string; dropped: boolean }[]>`
      select to_char(day, 'YYYY-MM-DD') as day, dropped from usage_closed_days where day in (${first}, ${second})
      order by day`;
    expect(closed).toEqual([
      { day: first, dropped: true },
      { day: second, dropped: true },
    ]);
  });

  it("are every UTC day its range touches, the part of one too", async () => {
    await sql.unsafe(
      "create table public.usage_events_p20270625_half partition of usage_events for values from ('2027-06-25T00:00:00Z') to ('2027-06-26T12:00:00Z')",
    );
    await sql.unsafe(
      "create unique index usage_events_p20270625_half_call_key_idx on public.usage_events_p20270625_half (call_key(call_id), key_id)",
    );
    const c = await customer();
    const calls = [
      ...(await callsOn("2027-06-25", c.keyId, 1, 10, "v7")),
      ...(await callsOn("2027-06-26", c.keyId, 1, 6, "v7")),
    ];
    await settleDay("2027-06-25");
    await settleDay("2027-06-26");
    const charged = await balance(c.accountId);
    await runAt("2027-07-05T04:00:00Z");
    expect(await partitionExists("usage_events_p20270625_half")).toBe(false);
    const replay = await clock.at("2027-07-05T09:00:00Z", (tx) => settleUsage(tx, calls));
    expect(replay).toMatchObject({ inserted: 0, expired: 2 });
    expect(await balance(c.accountId)).toBe(charged);
  });

  it("are dropped only if still closed: a day another run opened again meanwhile is refused, its calls kept", async () => {
    const day = "2027-06-27";
    const name = await partitionFor(day);
    const c = await customer();
    const [call] = await callsOn(day, c.keyId, 1, 13, "v7");
    await settleDay(day);
    const charged = await balance(c.accountId);
    // A writer holds the partition: the run, its day closed, waits for its lock.
    const blocker = await sql.reserve();
    await blocker`begin`;
    await blocker`lock table ${blocker(name)} in row exclusive mode`;
    let run: ReturnType<typeof runAt>;
    try {
      run = runAt("2027-07-06T04:00:00Z", { lockTimeoutMs: 4000 });
      await untilLockWaited(sql, { relation: name });
      // Another run opens the day again (its start opens the days no run dropped).
      await sql`delete from usage_closed_days where day = ${day} and not dropped`;
    } finally {
      await blocker`commit`;
      blocker.release();
    }
    const summary = await run!;
    expect(summary.refused).toContainEqual(expect.objectContaining({ day, reason: "failed" }));
    expect(await partitionExists(name)).toBe(true);
    // The call's row is still here: its replay is known by it and charges nothing.
    const replay = await clock.at("2027-07-06T09:00:00Z", (tx) => settleUsage(tx, [call!]));
    expect(replay).toMatchObject({ inserted: 0, expired: 0 });
    expect(await balance(c.accountId)).toBe(charged);
    // The next run drops it.
    await runAt("2027-07-06T05:00:00Z");
    expect(await partitionExists(name)).toBe(false);
  });

  it("are open again when the run that closed them stopped before the drop, and the next refuses the day", async () => {
    const day = "2027-06-23";
    await partitionFor(day);
    const c = await customer();
    await callsOn(day, c.keyId, 1, 9, "v7");
    // A run cut off between closing the day and dropping its partition (its process gone).
    await sql`select close_usage_days(array[${day}::date])`;
    // The next run finds the day unsettled: refused, and open again, so its calls are still recorded and charged.
    const summary = await runAt("2027-07-01T04:00:00Z");
    expect(summary.refused.map((r) => r.day)).toContain(day);
    const [open] = await sql<
      { n: number }[]
    >`select count(*)::int as n from usage_closed_days where day = ${day}`;
    expect(open!.n).toBe(0);
    const before = await balance(c.accountId);
    const [late] = await callsOn(day, c.keyId, 1, 10, "v7");
    expect(await balance(c.accountId)).toBeLessThan(before);
    const [row] = await sql<
      { n: number }[]
    >`select count(*)::int as n from usage_events where call_id = ${late!.callId}`;
    expect(row!.n).toBe(1);
    await settleDay(day);
  });
});
