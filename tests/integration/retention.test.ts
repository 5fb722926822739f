// Usage retention on real PostgreSQL (docs/adr/0022-usage-retention.md): an expired daily partition leaves only
// when its day was settled and its detail equals its roll-ups exactly — then it is detached and dropped (no DELETE),
// the roll-ups, the ledger and the balances stay as they were; an organization with a shorter policy loses only its
// own rows; hourly roll-ups and playground conversations leave by their policy. Every day here is simulated
// (simulatedClock), at month ends, a year end and a 29 February: nothing depends on today's date.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { config } from "@/lib/config";
import { runRetention, verifyDay } from "@/lib/retention/run";
import { event } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { createTestOrganization } from "../helpers/orgs";
import { retentionFixture } from "../helpers/retention";
import { signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2027-01-01T00:00:00Z");
const ADMIN_EMAIL = `admin-${randomUUID()}@example.com`;
let adminId: string;

const fixture = retentionFixture(sql, clock);
const { partitionFor, partitionExists, customer, settleDay } = fixture;

beforeAll(async () => {
  adminId = await fixture.setUp(ADMIN_EMAIL);
});

/** Calls on a key at a simulated moment of `day`, settled through the real path (settle_usage). */
async function callsOn(day: string, keyId: string, count: number, hour = 13) {
  const at = `${day}T${String(hour).padStart(2, "0")}:00:00.000Z`;
  await clock.at(at, (tx) =>
    settleUsage(
      tx,
      Array.from({ length: count }, (_, i) =>
        event(keyId, `${day}-${randomUUID()}`, {
          startedAt: at,
          endedAt: at,
          completionTokens: 10 + i,
          ...(i % 5 === 4 ? { status: "failure" as const, errorClass: "UpstreamError" } : {}),
        }),
      ),
    ),
  );
}

/** The day's settlement as the queue runs it: one chunk over every account, then the finalize. */
/** Everything retention must never change: balances, the ledger, daily roll-ups, and the hourly ones it keeps. */
async function books() {
  return {
    accounts: await sql`select id, balance_micros, held_micros from accounts order by id`,
    ledger: await sql`select count(*)::int as n, coalesce(sum(amount_micros), 0)::bigint as sum,
                             coalesce(sum(abs(amount_micros)), 0)::bigint as gross from ledger_entries`,
    rollups: await sql`
      select day, account_id, key_id, model_group, billing_status, requests, tokens_in, tokens_out, cost_micros,
             revenue_micros
      from usage_rollups order by day, account_id, key_id, model_group, billing_status`,
    hourly: await sql`select * from usage_hourly order by hour, model_group, kind, status, billing_status`,
  };
}

const runAt = (moment: string, options: { batch?: number } = {}) =>
  runRetention(sql, { asOf: new Date(moment), ...options });

describe("retention of usage detail", () => {
  it("refuses to drop an unsettled day, and records why", async () => {
    const day = "2027-01-03";
    const name = await partitionFor(day);
    const c = await customer();
    await callsOn(day, c.keyId, 4);
    const before = await books();

    const summary = await runAt("2027-01-11T04:00:00Z");
    expect(summary.detailCutoff).toBe("2027-01-04");
    expect(summary.refused).toContainEqual({ day, reason: "not_settled" });
    expect(await partitionExists(name)).toBe(true);
    const [rows] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(name)}`;
    expect(rows!.n).toBe(4);
    const [action] = await sql`
      select action, reason, partition_name from retention_actions where run_id = ${summary.runId} and day = ${day}`;
    expect(action).toEqual({ action: "refused", reason: "not_settled", partition_name: name });
    const [run] = await sql`select status, days_refused from retention_runs where id = ${summary.runId}`;
    expect(run).toEqual({ status: "completed", days_refused: 1 });
    // The alert: the metrics endpoint's gauge of the last run's refused days.
    const { scrape } = await import("@/lib/metrics/scrape");
    expect((await scrape(sql)).body).toContain('tollgate_last_retention{measure="days_refused"} 1');
    expect(await books()).toEqual(before);
    await settleDay(day); // the next tests' runs find this day settled and drop it
  });

  it("refuses when the roll-ups disagree with the day's detail, by a single micro or a late call", async () => {
    const day = "2027-01-05";
    const name = await partitionFor(day);
    const c = await customer();
    await callsOn(day, c.keyId, 3);
    await settleDay(day);
    expect((await verifyDay(sql, day)).ok).toBe(true);

    // One micro-USD off in the daily roll-up.
    await sql`update usage_rollups set revenue_micros = revenue_micros + 1 where day = ${day} and account_id = ${c.accountId}`;
    const first = await runAt("2027-01-13T04:00:00Z");
    expect(first.refused).toContainEqual({ day, reason: "rollups_disagree" });
    expect(await partitionExists(name)).toBe(true);
    const [why] = await sql`
      select reason, detail from retention_actions where run_id = ${first.runId} and day = ${day}`;
    expect(why!.reason).toBe("rollups_disagree");
    expect(why!.detail.account_model_day).toEqual({ groups: 1, mismatched: 1 });
    expect(why!.detail.model_hour.mismatched).toBe(0);
    await sql`update usage_rollups set revenue_micros = revenue_micros - 1 where day = ${day} and account_id = ${c.accountId}`;

    // A call of that day that arrived after its settlement: the hourly roll-up has it, the daily one does not.
    await callsOn(day, c.keyId, 1, 22);
    const second = await runAt("2027-01-13T05:00:00Z");
    expect(second.refused).toContainEqual({ day, reason: "rollups_disagree" });
    expect(await partitionExists(name)).toBe(true);

    // Settled again, the day verifies and leaves.
    await settleDay(day);
    const third = await runAt("2027-01-13T06:00:00Z");
    expect(third.refused.filter((r) => r.day === day)).toEqual([]);
    expect(await partitionExists(name)).toBe(false);
  });

  it("drops a settled, verified day: the partition is gone, roll-ups, ledger and balances unchanged", async () => {
    const day = "2027-01-07";
    const kept = "2027-01-08";
    const name = await partitionFor(day);
    const keptName = await partitionFor(kept);
    const a = await customer();
    const b = await customer();
    await callsOn(day, a.keyId, 6, 0);
    await callsOn(day, b.keyId, 5, 23);
    await callsOn(kept, a.keyId, 2);
    await settleDay(day);
    await settleDay(kept);
    const [detail] = await sql<{ n: number; revenue: bigint }[]>`
      select count(*)::int as n, sum(revenue_micros)::bigint as revenue from ${sql(name)}`;
    expect(detail!.n).toBe(11);
    expect(detail!.revenue).toBeGreaterThan(0n);
    const before = await books();

    // 2027-01-15 keeps seven days, 2027-01-08 to 2027-01-14: the 7th leaves, the 8th stays.
    const summary = await runAt("2027-01-15T00:00:00Z");
    expect(summary.refused).toEqual([]);
    expect(await partitionExists(name)).toBe(false);
    expect(await sql`select to_regclass(${`public.${name}`}) as r`).toEqual([{ r: null }]);
    expect(await partitionExists(keptName)).toBe(true);
    const [dropped] = await sql`
      select action, rows, bytes > 0 as sized from retention_actions where run_id = ${summary.runId} and day = ${day}`;
    expect(dropped).toEqual({ action: "dropped", rows: 11n, sized: true });
    const [gone] = await sql<{ n: number }[]>`
      select count(*)::int as n from usage_events
      where started_at >= ${`${day}T00:00:00Z`} and started_at < ${`${kept}T00:00:00Z`}`;
    expect(gone!.n).toBe(0);

    // The money and the roll-ups are exactly as they were; the ledger still sums to every balance.
    expect(await books()).toEqual(before);
    const [spent] = await sql<{ revenue: bigint }[]>`
      select sum(revenue_micros)::bigint as revenue from usage_rollups where day = ${day}`;
    expect(spent!.revenue).toBe(detail!.revenue);
    expect(await checkLedgerInvariants(sql)).toEqual([]);

    // A second run at the same moment has nothing left to do.
    const again = await runAt("2027-01-15T00:00:00Z");
    expect(again.partitionsDropped).toBe(0);
    expect(again.refused).toEqual([]);
    expect(await books()).toEqual(before);
  });

  it("an organization with a shorter policy loses only its own rows, and its day still verifies and leaves", async () => {
    const day = "2027-01-20";
    const name = await partitionFor(day);
    const org = await createTestOrganization(sql, {
      pepper: config().KEY_PEPPER,
      balanceMicros: 10_000_000n,
      members: [{ role: "owner" }, { role: "member" }],
    });
    const person = await customer();
    await callsOn(day, org.members[0]!.keys[0]!.id, 7, 9);
    await callsOn(day, org.members[1]!.keys[0]!.id, 3, 10);
    await callsOn(day, person.keyId, 4, 9);
    await settleDay(day);
    await sql`
      insert into organization_retention (organization_id, usage_detail_days) values (${org.id}, 2)`;
    const before = await books();
    // Two days later the organization's day is past its own policy, but within the gateway's replay window and in a
    // month whose statements are open: nothing goes (tests/integration/retention-review.test.ts).
    expect((await runAt("2027-01-23T04:00:00Z", { batch: 3 })).orgRowsTrimmed).toBe(0);
    // The platform keeps a month here, January is closed: a week later the organization's rows go, in batches of 3.
    await sql`update retention_settings set usage_detail_days = 30`;
    await sql`insert into statement_months (month, statements) values ('2027-01-01', 0)`;
    const summary = await runAt("2027-01-28T04:00:00Z", { batch: 3 });
    await sql`update retention_settings set usage_detail_days = 7`;
    expect(summary.orgRowsTrimmed).toBe(10);
    expect(await partitionExists(name)).toBe(true);
    const left = await sql<{ account_id: string; n: number }[]>`
      select account_id, count(*)::int as n from ${sql(name)} group by account_id`;
    expect(left).toEqual([{ account_id: person.accountId, n: 4 }]);
    const [trimmed] = await sql`
      select action, account_id, rows from retention_actions where run_id = ${summary.runId} and day = ${day}`;
    expect(trimmed).toEqual({ action: "trimmed", account_id: org.accountId, rows: 10n });
    expect(await books()).toEqual(before);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
    // What was trimmed still counts: the day verifies, and settling it again keeps the organization's calls in its
    // daily roll-ups; then it leaves with the platform's policy.
    expect((await verifyDay(sql, day)).ok).toBe(true);
    await settleDay(day);
    expect(await books()).toEqual(before);
    expect((await verifyDay(sql, day)).ok).toBe(true);
    const later = await runAt("2027-01-28T05:00:00Z");
    expect(later.refused.filter((r) => r.day === day)).toEqual([]);
    expect(await partitionExists(name)).toBe(false);
    // The dropped partition's sums join the trimmed ones: all 14 calls, so settling the day again changes nothing.
    const [kept] = await sql<{ calls: number }[]>`
      select sum(calls)::int as calls from retention_trimmed_usage where day = ${day}`;
    expect(kept!.calls).toBe(14);
    await settleDay(day);
    expect(await books()).toEqual(before);
  });
});

describe("retention across month ends, a year end and 29 February", () => {
  it.each([
    ["a month's end", "2027-01-31", "2027-02-07T23:59:59.999Z", "2027-02-08T00:00:00Z"],
    ["a year's end", "2027-12-31", "2028-01-07T23:59:59.999Z", "2028-01-08T00:00:00Z"],
    ["29 February", "2028-02-29", "2028-03-07T23:59:59.999Z", "2028-03-08T00:00:00Z"],
  ])(
    "%s: kept through its seventh day, dropped at the next UTC midnight",
    async (_label, day, lastKept, dropAt) => {
      const name = await partitionFor(day);
      const c = await customer();
      await callsOn(day, c.keyId, 2, 23);
      await settleDay(day);
      const kept = await runAt(lastKept);
      expect(kept.refused.filter((r) => r.day === day)).toEqual([]);
      expect(await partitionExists(name)).toBe(true);
      const dropped = await runAt(dropAt);
      expect(await partitionExists(name)).toBe(false);
      expect(dropped.partitionsDropped).toBeGreaterThanOrEqual(1);
      expect(await checkLedgerInvariants(sql)).toEqual([]);
    },
  );
});

describe("hourly roll-ups and playground conversations", () => {
  it("leave past their policy in bounded batches; an organization's conversations by its own", async () => {
    await sql`
      insert into usage_hourly (hour, model_group, kind, status, billing_status, calls)
      select '2026-11-20'::timestamp + make_interval(hours => h), 'old-model', 'chat', 'success', 'exact', 1
      from generate_series(0, 9) h`;
    const person = await customer();
    const org = await createTestOrganization(sql, {
      pepper: config().KEY_PEPPER,
      balanceMicros: 0n,
      members: [{ role: "owner" }],
    });
    await sql`insert into organization_retention (organization_id, playground_days) values (${org.id}, 5)`;
    const owner = org.members[0]!.userId;
    await sql`
      insert into playground_conversations (user_id, account_id, title, updated_at) values
        (${person.userId}, null, 'old personal', '2027-01-01T00:00:00Z'),
        (${person.userId}, null, 'recent personal', '2027-02-01T00:00:00Z'),
        (${owner}, ${org.accountId}, 'org, 10 days old', '2027-02-05T00:00:00Z'),
        (${owner}, ${org.accountId}, 'org, 2 days old', '2027-02-13T00:00:00Z')`;
    // The dashboard's per-day owner roll-ups: an old day's rows and an activity row all of whose days are old go;
    // a recent day's, and the activity row of the recent period, stay.
    await sql`
      insert into usage_owner_days (owner_kind, owner_id, day, calls) values
        ('user', ${person.userId}, '2026-11-20', 3), ('key', ${person.keyId}, '2026-11-20', 3),
        ('user', ${person.userId}, '2027-02-14', 1)`;
    const recentPeriod = Math.floor(Date.parse("2027-02-14T00:00:00Z") / 86_400_000 / 32);
    await sql`
      insert into usage_owner_activity (owner_kind, period, owner_id, days) values
        ('user', 600, ${person.userId}, 1), ('user', ${recentPeriod}, ${person.userId}, 1)`;
    // Triggers stamp updated_at on update only: the rows keep the moments given.
    const summary = await runAt("2027-02-15T04:00:00Z", { batch: 3 });
    expect(summary.hourlyRowsDeleted).toBe(10);
    expect(summary.ownerRowsDeleted).toBe(3);
    expect(
      await sql`select owner_kind, to_char(day, 'YYYY-MM-DD') as day from usage_owner_days
                where owner_id in (${person.userId}, ${person.keyId}) order by day`,
    ).toEqual([{ owner_kind: "user", day: "2027-02-14" }]);
    expect(
      await sql`select period from usage_owner_activity where owner_id = ${person.userId}`.then((r) =>
        r.map((x) => x.period),
      ),
    ).toEqual([recentPeriod]);
    const [run] =
      await sql`select owner_rows_deleted::int as n from retention_runs where id = ${summary.runId}`;
    expect(run!.n).toBe(3);
    expect(await sql`select count(*)::int as n from usage_hourly where model_group = 'old-model'`).toEqual([
      { n: 0 },
    ]);
    const titles = await sql`
      select title from playground_conversations where user_id in (${person.userId}, ${owner}) order by title`;
    expect(titles.map((t) => t.title)).toEqual(["org, 2 days old", "recent personal"]);
  });
});

describe("a run past its time budget", () => {
  it("stops where it is and queues a follow-up job for the rest", async () => {
    // After the month ends' runs: retention moves the claims horizon forward, and settle_usage takes no call before it.
    const day = "2028-04-03";
    const name = await partitionFor(day);
    const c = await customer();
    await callsOn(day, c.keyId, 2);
    await settleDay(day);
    const late = await runRetention(sql, { asOf: new Date("2028-04-22T04:00:00Z"), deadline: 0 });
    expect(late.continued).toBe(true);
    expect(late.partitionsDropped).toBe(0);
    expect(await partitionExists(name)).toBe(true);
    const [job] = await sql`
      select name, state from queue_jobs where singleton_key = ${`retention.run:after:${late.runId}`}`;
    expect(job).toEqual({ name: "retention.run", state: "created" });
    await sql`delete from queue_jobs where singleton_key = ${`retention.run:after:${late.runId}`}`;
    await runAt("2028-04-22T04:00:00Z");
    expect(await partitionExists(name)).toBe(false);
  });
});

describe("without a default partition", () => {
  it("detaches CONCURRENTLY, checks the detached rows again, then drops them", async () => {
    // Hourly roll-ups kept long enough that this run removes none of the earlier tests' (the books compare them).
    await sql`update retention_settings set hourly_rollup_days = 3650`;
    const [fallback] = await sql<{ name: string }[]>`select name from usage_partitions() where is_default`;
    if (fallback) await sql`alter table usage_events detach partition ${sql(fallback.name)}`;
    const day = "2028-05-01";
    const name = await partitionFor(day);
    const c = await customer();
    await callsOn(day, c.keyId, 3);
    await settleDay(day);
    const before = await books();
    // Outside a transaction (DETACH … CONCURRENTLY cannot run in one), standing at an explicit moment.
    const summary = await runRetention(sql, { asOf: new Date("2028-05-20T04:00:00Z") });
    expect(summary.refused).toEqual([]);
    expect(await partitionExists(name)).toBe(false);
    expect(await sql`select to_regclass(${`public.${name}`}) as r`).toEqual([{ r: null }]);
    const [dropped] = await sql`
      select action, rows, detail->>'concurrently' as concurrently from retention_actions
      where run_id = ${summary.runId} and day = ${day}`;
    expect(dropped).toEqual({ action: "dropped", rows: 3n, concurrently: "true" });
    expect(await books()).toEqual(before);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
    if (fallback)
      await sql.unsafe(`alter table usage_events attach partition public.${fallback.name} default`);
  });
});

describe("retention policies through the API", () => {
  it("admins set the platform's; an organization's owners shorten theirs, never past the platform's; audited", async () => {
    const route = await import("@/app/api/v1/retention/route");
    const orgRoute = await import("@/app/api/v1/orgs/[org]/retention/route");
    const admin = await signIn(ADMIN_EMAIL);
    const org = await createTestOrganization(sql, {
      pepper: config().KEY_PEPPER,
      balanceMicros: 0n,
      members: [{ role: "owner" }, { role: "member" }],
    });
    // Members made in SQL have no password: they take the admin's (the suite's one test password).
    await sql`
      update users set password_hash = (select password_hash from users where id = ${adminId})
      where id in (${org.members[0]!.userId}, ${org.members[1]!.userId})`;
    const owner = await signIn(org.members[0]!.email);
    const member = await signIn(org.members[1]!.email);

    const set = await call(route.PATCH, {
      method: "PATCH",
      cookie: admin,
      body: { usageDetailDays: 60, hourlyRollupDays: 730, playgroundDays: 20 },
    });
    expect(set.status).toBe(200);
    expect(set.body.settings).toMatchObject({
      usageDetailDays: 60,
      hourlyRollupDays: 730,
      playgroundDays: 20,
    });
    // Hourly roll-ups outlive the detail; unknown fields and cross-site requests are refused.
    expect(
      (await call(route.PATCH, { method: "PATCH", cookie: admin, body: { hourlyRollupDays: 40 } })).status,
    ).toBe(422);
    expect(
      (await call(route.PATCH, { method: "PATCH", cookie: admin, body: { ledgerDays: 10 } })).body.error.code,
    ).toBe("validation_failed");
    expect(
      (
        await call(route.PATCH, {
          method: "PATCH",
          cookie: admin,
          origin: "https://evil.example",
          body: { usageDetailDays: 30 },
        })
      ).status,
    ).toBe(403);
    expect((await call(route.GET, { cookie: owner })).status).toBe(403);

    const params = { org: org.slug };
    const tooLong = await call(orgRoute.PATCH, {
      method: "PATCH",
      cookie: owner,
      params,
      body: { usageDetailDays: 61 },
    });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.error.issues[0].path).toBe("usageDetailDays");
    expect(
      (await call(orgRoute.PATCH, { method: "PATCH", cookie: member, params, body: { usageDetailDays: 10 } }))
        .status,
    ).toBe(403);
    const ok = await call(orgRoute.PATCH, {
      method: "PATCH",
      cookie: owner,
      params,
      body: { usageDetailDays: 14, playgroundDays: 7 },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      usageDetailDays: 14,
      playgroundDays: 7,
      effective: { usageDetailDays: 14, playgroundDays: 7 },
      platform: { usageDetailDays: 60, playgroundDays: 20 },
    });
    const seen = await call(orgRoute.GET, { cookie: member, params });
    expect(seen.body).toMatchObject({ usageDetailDays: 14, canChange: false });
    const audit = await sql`
      select action, after from audit_log where action like 'retention.%' order by id`;
    expect(audit.map((a) => a.action)).toEqual(["retention.settings", "retention.organization"]);
    expect(audit[1]!.after).toEqual({ usageDetailDays: 14, playgroundDays: 7 });

    const overview = await call(route.GET, { cookie: admin });
    expect(overview.status).toBe(200);
    expect(overview.body.settings.usageDetailDays).toBe(60);
    expect(overview.body.runs.length).toBeGreaterThan(0);
    expect(overview.body.organizations).toContainEqual(
      expect.objectContaining({ slug: org.slug, usageDetailDays: 14 }),
    );
  });
});
