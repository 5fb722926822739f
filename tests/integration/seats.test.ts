// Seat fees (issue 25, ADR 0016 decision 7) on real PostgreSQL, on the numbers: an organization on a plan with a seat
// price pays each member's seat once per UTC month from its own balance (the month job: full price; the join job: the
// days left of the month the member joined), each a balanced seat_fee ledger transaction; a balance that cannot pay
// leaves the fee due and the organization's keys refused with 402 'seats' until a top-up and the retry job pay it.
// Every moment is on a simulated clock; the ledger invariant is checked after every step.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { grantLease } from "@/lib/billing/leases";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { createClient, type Db } from "@/lib/db/client";
import { ORG_SEAT_JOIN_JOB, ORG_SEATS_MONTH_JOB, ORG_SEATS_RETRY_JOB } from "@/lib/orgs/jobs";
import { chargeJoiningSeat, chargeSeatsForMonth, enqueueSeatMonth, payDueSeats } from "@/lib/orgs/seats";
import { enqueue } from "@/lib/queue";
import { drain } from "@/lib/settlement/drain";
import { topUp } from "../helpers/billing";
import { clearOfMidnight, simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql, url, prepare } = await createTestDatabase();
const clock = simulatedClock(sql, "2027-05-01T00:00:00Z");
let adminId: string;

/** $10 a seat per month. */
const FEE = 10_000_000n;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await clock.seedPricedModel();
});

async function expectInvariants() {
  expect(await checkLedgerInvariants(sql)).toEqual([]);
}

async function plan(seatPriceMicros: bigint | null) {
  const name = `plan-${randomUUID().slice(0, 8)}`;
  const [row] = await sql<{ id: string }[]>`
    insert into plans (name, seat_price_micros) values (${name}, ${seatPriceMicros}) returning id`;
  return row!.id;
}

interface Org {
  id: string;
  slug: string;
  accountId: string;
  /** The members' user ids, in the order given. */
  members: string[];
}

/** An organization on a plan with `fee` a seat, funded with `balance`, whose members joined at the moments given. */
async function organization({
  fee = FEE,
  balance = 0n,
  members,
  status = "active",
}: {
  fee?: bigint | null;
  balance?: bigint;
  members: { role: string; joinedAt: string }[];
  status?: string;
}): Promise<Org> {
  const slug = `org-${randomUUID().slice(0, 8)}`;
  const [org] = await sql<{ id: string }[]>`
    insert into organizations (name, slug, created_by, status) values (${slug}, ${slug}, ${adminId}, ${status})
    returning id`;
  const [account] = await sql<{ id: string }[]>`
    insert into accounts (kind, organization_id, plan_id) values ('team', ${org!.id}, ${await plan(fee)})
    returning id`;
  const ids: string[] = [];
  for (const [i, m] of members.entries()) {
    const userId = await insertUser(sql, { email: `${slug}-${i}-${m.role}@example.com` });
    await sql`insert into organization_members (organization_id, user_id, role, joined_at)
              values (${org!.id}, ${userId}, ${m.role}, ${m.joinedAt})`;
    ids.push(userId);
  }
  if (balance > 0n) await topUp(sql, adminId, account!.id, balance);
  return { id: org!.id, slug, accountId: account!.id, members: ids };
}

async function account(id: string) {
  const [row] = await sql<{ balance: bigint; held: bigint; due: bigint }[]>`
    select balance_micros as balance, held_micros as held, seats_due_micros as due from accounts where id = ${id}`;
  return row!;
}

async function seats(orgId: string) {
  return sql<{ userId: string; month: string; amount: bigint; status: string; paid: boolean }[]>`
    select user_id as "userId", to_char(month, 'YYYY-MM') as month, amount_micros as amount, status,
           ledger_transaction_id is not null as paid
    from seat_charges where organization_id = ${orgId} order by month, created_at, user_id`;
}

/** The organization's seat_fee ledger transactions: idempotency key, what the account paid, what revenue got. */
async function seatFees(accountId: string) {
  return sql<{ key: string; paid: bigint; revenue: bigint; reason: string }[]>`
    select t.idempotency_key as key, t.reason,
           sum(e.amount_micros) filter (where e.account_id = ${accountId})::bigint as paid,
           sum(e.amount_micros) filter (where e.account_id = (select id from accounts where code = 'revenue'))::bigint
             as revenue
    from ledger_transactions t join ledger_entries e on e.transaction_id = t.id
    where t.kind = 'seat_fee' and t.id in (select transaction_id from ledger_entries where account_id = ${accountId})
    group by t.id order by t.idempotency_key`;
}

const month = (m: string) => ({ month: `${m}-01` });
const runDrain = (db: Db) =>
  drain(db, { budgetMs: 10_000, replay: async () => [], policy: "release", graceMinutes: 60 });

describe("the month job", () => {
  it("charges every member of every role the full fee once, even run twice and concurrently", async () => {
    const org = await organization({
      balance: 100_000_000n,
      members: [
        { role: "owner", joinedAt: "2027-05-03T10:00:00Z" },
        { role: "admin", joinedAt: "2027-06-10T10:00:00Z" },
        { role: "billing", joinedAt: "2027-06-30T23:59:59Z" },
        { role: "member", joinedAt: "2027-07-10T08:00:00Z" },
      ],
    });
    const unpriced = await organization({
      fee: null,
      balance: 1_000_000n,
      members: [{ role: "owner", joinedAt: "2027-05-03T10:00:00Z" }],
    });
    const suspended = await organization({
      balance: 100_000_000n,
      status: "suspended",
      members: [{ role: "owner", joinedAt: "2027-05-03T10:00:00Z" }],
    });
    const moment = "2027-07-01T00:05:00Z";
    // Two runs at once, each in its own transaction and connection: the account lock makes the second wait and
    // find every seat charged.
    const pool = createClient({ url, max: 4, prepare, applicationName: "seats-month" });
    let runs: Awaited<ReturnType<typeof chargeSeatsForMonth>>[];
    try {
      runs = await Promise.all(
        [0, 1].map(() =>
          pool.begin(async (tx) => {
            await tx`select set_config('tollgate.now', ${moment}, true)`;
            return chargeSeatsForMonth(tx, month("2027-07"));
          }),
        ),
      );
    } finally {
      await pool.end();
    }
    expect(runs.map((r) => r.charged).sort()).toEqual([0, 3]);
    const again = await clock.at("2027-07-20T12:00:00Z", (db) => chargeSeatsForMonth(db, month("2027-07")));
    expect(again.charged).toBe(0);
    await expectInvariants();

    // The three who were members before July pay $10 each; the member who joined on the 10th is not the month's.
    const charged = await seats(org.id);
    expect(charged.map((c) => c.userId).sort()).toEqual(org.members.slice(0, 3).sort());
    expect(charged.map((c) => [c.month, c.amount, c.status])).toEqual(
      Array(3).fill(["2027-07", FEE, "paid"]),
    );
    expect(await account(org.accountId)).toEqual({ balance: 70_000_000n, held: 0n, due: 0n });
    const fees = await seatFees(org.accountId);
    expect(fees.map((f) => f.key).sort()).toEqual(
      org.members
        .slice(0, 3)
        .map((u) => `seat:${org.id}:${u}:2027-07`)
        .sort(),
    );
    for (const f of fees) {
      expect(f.paid).toBe(-FEE);
      expect(f.revenue).toBe(FEE);
      expect(f.reason).toMatch(/^Seat fee for 2027-07: org-.*@example\.com$/);
    }
    const audits = await sql`
      select after from audit_log where action = 'org.seat.charge' and target_id = ${org.id}`;
    expect(audits.map((a) => a.after.basis)).toEqual(["month", "month", "month"]);

    // No seat price, or suspended: nothing charged.
    expect(await seats(unpriced.id)).toEqual([]);
    expect(await seats(suspended.id)).toEqual([]);
    expect((await account(unpriced.accountId)).balance).toBe(1_000_000n);
  });

  it("is refused for a month that has not started", async () => {
    await expect(
      clock.at("2027-07-31T23:59:59Z", (db) => chargeSeatsForMonth(db, month("2027-08"))),
    ).rejects.toMatchObject({ code: "validation_failed" });
    await expect(
      clock.at("2027-07-31T23:59:59Z", (db) => chargeSeatsForMonth(db, { month: "2027-07-15" })),
    ).rejects.toThrow(/first day of a month/);
  });

  it("is enqueued once per UTC month by the daily cron, and a missed month start catches up", async () => {
    const org = await organization({
      balance: 50_000_000n,
      members: [{ role: "owner", joinedAt: "2027-05-03T10:00:00Z" }],
    });
    const tick = (moment: string) => clock.at(moment, (db) => enqueueSeatMonth(db));
    expect(await tick("2028-03-01T00:05:00Z")).toEqual({ month: "2028-03-01", enqueued: true });
    expect(await tick("2028-03-01T00:06:00Z")).toEqual({ month: "2028-03-01", enqueued: false });
    await clock.at("2028-03-01T00:07:00Z", runDrain);
    // Finished, the month's job is not enqueued again by later ticks of the month.
    expect(await tick("2028-03-02T00:05:00Z")).toEqual({ month: "2028-03-01", enqueued: false });
    // April's first ticks were missed: the first tick in April catches up.
    expect(await tick("2028-04-03T00:05:00Z")).toEqual({ month: "2028-04-01", enqueued: true });
    await clock.at("2028-04-03T00:07:00Z", runDrain);
    expect((await seats(org.id)).map((s) => [s.month, s.amount, s.status])).toEqual([
      ["2028-03", FEE, "paid"],
      ["2028-04", FEE, "paid"],
    ]);
    const jobs = await sql`
      select state, result from queue_jobs where name = ${ORG_SEATS_MONTH_JOB} order by created_at`;
    expect(jobs.map((j) => j.state)).toEqual(["completed", "completed"]);
    expect(jobs[0]!.result).toMatchObject({ month: "2028-03-01", paid: expect.any(Number) });
    expect((await account(org.accountId)).balance).toBe(30_000_000n);
    await expectInvariants();
  });
});

describe("the daily cron (GET /api/cron/grants)", () => {
  it("enqueues this UTC month's seat job once, and a retry for fees due that the balance now covers", async () => {
    await clearOfMidnight(sql, 10);
    const org = await organization({
      balance: 1_000_000n,
      members: [{ role: "owner", joinedAt: "2027-05-03T10:00:00Z" }],
    });
    await clock.at("2027-10-01T00:05:00Z", (db) => chargeSeatsForMonth(db, month("2027-10")));
    expect(await account(org.accountId)).toMatchObject({ due: FEE });
    await topUp(sql, adminId, org.accountId, FEE);
    // As if the money had come in by a path that enqueued no retry (or a call's hold was released since).
    await sql`delete from queue_jobs where name = ${ORG_SEATS_RETRY_JOB}`;
    const cron = (await import("@/app/api/cron/grants/route")).GET;
    const tick = () => call(cron, { headers: { authorization: `Bearer ${process.env.CRON_SECRET}` } });
    const [now] = await sql<{ month: string }[]>`
      select to_char(date_trunc('month', now() at time zone 'utc'), 'YYYY-MM-DD') as month`;
    const first = await tick();
    expect(first.status).toBe(200);
    expect(first.body.seats).toMatchObject({ month: now!.month, enqueued: true });
    expect(first.body.seats.retries).toBeGreaterThanOrEqual(1);
    expect((await tick()).body.seats).toMatchObject({ month: now!.month, enqueued: false });
    const retries = await sql`
      select 1 from queue_jobs where name = ${ORG_SEATS_RETRY_JOB} and payload->>'accountId' = ${org.accountId}
        and state in ('created', 'retry')`;
    expect(retries).toHaveLength(1);
    await sql`delete from queue_jobs where name = ${ORG_SEATS_MONTH_JOB}`;
    await runDrain(sql);
    expect(await account(org.accountId)).toEqual({ balance: 1_000_000n, held: 0n, due: 0n });
    await expectInvariants();
  });
});

describe("a member who joins during a month", () => {
  it("pays ceil(fee × days left / days in the month) for it: the 15th of a 30-day month is 16/30", async () => {
    const org = await organization({
      balance: 100_000_000n,
      members: [
        { role: "owner", joinedAt: "2027-05-03T10:00:00Z" },
        { role: "member", joinedAt: "2027-06-15T13:30:00Z" },
      ],
    });
    const joiner = org.members[1]!;
    const payload = { organizationId: org.id, userId: joiner };
    const first = await clock.at("2027-06-15T13:30:01Z", (db) => chargeJoiningSeat(db, payload));
    // 10,000,000 × 16 / 30 = 5,333,333.3…, rounded up once.
    expect(first).toEqual({ month: "2027-06-01", amountMicros: "5333334", status: "paid", charged: true });
    // Asked again (the job retried, or after the month end): nothing changes.
    const second = await clock.at("2027-07-02T00:00:00Z", (db) => chargeJoiningSeat(db, payload));
    expect(second).toEqual({ ...first, charged: false });
    // A late June month job does not charge the joiner the full fee; July's charges both in full.
    await clock.at("2027-06-20T00:00:00Z", (db) => chargeSeatsForMonth(db, month("2027-06")));
    await clock.at("2027-07-01T00:05:00Z", (db) => chargeSeatsForMonth(db, month("2027-07")));
    const charged = (await seats(org.id)).map((s) => [s.month, s.userId === joiner, s.amount] as const);
    expect(charged.sort()).toEqual([
      ["2027-06", false, FEE],
      ["2027-06", true, 5_333_334n],
      ["2027-07", false, FEE],
      ["2027-07", true, FEE],
    ]);
    expect((await account(org.accountId)).balance).toBe(100_000_000n - 3n * FEE - 5_333_334n);
    await expectInvariants();
  });

  it("joining on 29 February 2028 pays 1/29, on 28 February 2/29, on 31 December 1/31, on the 1st the whole fee", async () => {
    const cases = [
      { joinedAt: "2028-02-29T00:00:00Z", month: "2028-02-01", amount: 344_828n }, // 10M / 29 = 344,827.6…
      { joinedAt: "2028-02-28T23:59:59.999Z", month: "2028-02-01", amount: 689_656n }, // 20M / 29 = 689,655.2…
      { joinedAt: "2027-12-31T23:59:59Z", month: "2027-12-01", amount: 322_581n }, // 10M / 31 = 322,580.6…
      { joinedAt: "2028-01-01T00:00:00Z", month: "2028-01-01", amount: FEE },
    ];
    for (const c of cases) {
      const org = await organization({
        balance: 20_000_000n,
        members: [{ role: "owner", joinedAt: c.joinedAt }],
      });
      const result = await clock.at(c.joinedAt, (db) =>
        chargeJoiningSeat(db, { organizationId: org.id, userId: org.members[0]! }),
      );
      expect(result).toEqual({
        month: c.month,
        amountMicros: c.amount.toString(),
        status: "paid",
        charged: true,
      });
      expect((await account(org.accountId)).balance).toBe(20_000_000n - c.amount);
    }
    await expectInvariants();
  });

  it("an organization's creation and its owner's join job end in one charge, through the queue", async () => {
    const org = await organization({
      balance: 20_000_000n,
      members: [{ role: "owner", joinedAt: "2027-09-16T09:00:00Z" }],
    });
    const payload = { organizationId: org.id, userId: org.members[0]! };
    // Creation charges the owner's seat directly; a join job for the same member follows (as an acceptance's).
    await clock.at("2027-09-16T09:00:00Z", async (db) => {
      await chargeJoiningSeat(db, payload);
      await enqueue(db, ORG_SEAT_JOIN_JOB, payload);
    });
    await clock.at("2027-09-16T09:00:01Z", runDrain);
    // September has 30 days: the 16th leaves 15.
    expect(await seats(org.id)).toEqual([expect.objectContaining({ amount: 5_000_000n, status: "paid" })]);
    expect(await seatFees(org.accountId)).toHaveLength(1);
    const [job] = await sql`select state, result from queue_jobs where name = ${ORG_SEAT_JOIN_JOB}`;
    expect(job).toMatchObject({ state: "completed", result: { charged: false, amountMicros: "5000000" } });
    await expectInvariants();
  });
});

describe("a balance that cannot pay", () => {
  it("leaves seats due, refuses calls with 402 naming seats, and a top-up with the retry job pays them", async () => {
    const org = await organization({
      balance: 5_000_000n,
      members: [
        { role: "owner", joinedAt: "2027-05-03T10:00:00Z" },
        { role: "member", joinedAt: "2027-05-04T10:00:00Z" },
      ],
    });
    const [key] = await sql<{ id: string }[]>`
      insert into api_keys (user_id, account_id, name, prefix, key_hash)
      values (${org.members[1]!}, ${org.accountId}, 'seat test', 'tg_seat', ${Buffer.from(randomUUID())})
      returning id`;
    const hold = (db: Db) =>
      placeHold(db, {
        keyId: key!.id,
        callId: randomUUID(),
        nonce: randomUUID(),
        model: "fake-small",
        promptTokens: 100,
        maxOutputTokens: 100,
      });
    // Calls work before the month start.
    await clock.at("2027-08-31T12:00:00Z", hold);

    await clock.at("2027-09-01T00:05:00Z", (db) => chargeSeatsForMonth(db, month("2027-09")));
    expect(await account(org.accountId)).toMatchObject({ balance: 5_000_000n, due: 20_000_000n });
    expect((await seats(org.id)).map((s) => [s.status, s.paid])).toEqual([
      ["due", false],
      ["due", false],
    ]);
    expect(await seatFees(org.accountId)).toEqual([]);
    await expectInvariants();

    const refused = clock.at("2027-09-01T00:06:00Z", hold);
    await expect(refused).rejects.toMatchObject({
      code: "insufficient_balance",
      status: 402,
      details: { scope: "seats", seatsDueMicros: 20_000_000n },
    });
    await expect(refused).rejects.toThrow(/seat fees are unpaid \(\$20\.0+ due\)/);
    await expect(
      clock.at("2027-09-01T00:06:00Z", (db) =>
        grantLease(
          db,
          {
            leaseId: randomUUID(),
            keyId: key!.id,
            processId: "p1",
            nonce: randomUUID(),
            wantMicros: 100_000n,
            minMicros: 1_000n,
          },
          { ttlSeconds: 60 },
        ),
      ),
    ).rejects.toMatchObject({ status: 402, details: { scope: "seats" } });

    // $12 in: the older seat is paid, the next does not fit in what is left ($7): still refused.
    await topUp(sql, adminId, org.accountId, 12_000_000n);
    const retry = async (moment: string) =>
      clock
        .at(moment, async (db) => {
          await enqueue(db, ORG_SEATS_RETRY_JOB, { accountId: org.accountId });
        })
        .then(() => clock.at(moment, runDrain));
    await retry("2027-09-02T10:00:00Z");
    expect(await account(org.accountId)).toMatchObject({ balance: 7_000_000n, due: 10_000_000n });
    expect((await seats(org.id)).map((s) => s.status)).toEqual(["paid", "due"]);
    await expectInvariants();
    await expect(clock.at("2027-09-02T10:01:00Z", hold)).rejects.toMatchObject({
      details: { scope: "seats" },
    });

    // $10 more: the last seat is paid and calls work again.
    await topUp(sql, adminId, org.accountId, 10_000_000n);
    await retry("2027-09-02T11:00:00Z");
    expect(await account(org.accountId)).toMatchObject({ due: 0n });
    expect((await seats(org.id)).map((s) => s.status)).toEqual(["paid", "paid"]);
    const fees = await seatFees(org.accountId);
    expect(fees.map((f) => f.paid)).toEqual([-FEE, -FEE]);
    const placed = await clock.at("2027-09-02T11:01:00Z", hold);
    expect(placed.outcome).toBe("placed");
    await expectInvariants();
    const pays =
      await sql`select after from audit_log where action = 'org.seat.pay' and target_id = ${org.accountId}`;
    expect(pays).toHaveLength(2);
  });

  it("never pays with money that calls in progress hold", async () => {
    const org = await organization({
      balance: 10_500_000n,
      members: [{ role: "owner", joinedAt: "2027-05-03T10:00:00Z" }],
    });
    // A hold on the account (as a call in progress) leaves less than the fee available.
    await sql`update accounts set held_micros = 1000000 where id = ${org.accountId}`;
    await clock.at("2027-10-01T00:05:00Z", (db) => chargeSeatsForMonth(db, month("2027-10")));
    expect(await account(org.accountId)).toEqual({ balance: 10_500_000n, held: 1_000_000n, due: FEE });
    // The call ends: now the money is there, and the retry pays.
    await sql`update accounts set held_micros = 0 where id = ${org.accountId}`;
    const paid = await clock.at("2027-10-01T01:00:00Z", (db) =>
      payDueSeats(db, { accountId: org.accountId }),
    );
    expect(paid).toEqual({ paid: 1, paidMicros: "10000000", dueMicros: "0" });
    expect(await account(org.accountId)).toEqual({ balance: 500_000n, held: 0n, due: 0n });
    await expectInvariants();
  });
});

describe("the prorated seat", () => {
  it("is at most the fee and at least fee × days left / days in the month, for any fee and day", async () => {
    const day = fc.date({
      min: new Date("2000-01-01T00:00:00Z"),
      max: new Date("2099-12-31T23:59:59Z"),
      noInvalidDate: true,
    });
    const fee = fc.bigInt({ min: 0n, max: 9_007_199_254_740_991n });
    await fc.assert(
      fc.asyncProperty(fee, day, async (feeMicros, moment) => {
        const iso = moment.toISOString().slice(0, 10);
        const [row] = await sql<{ amount: bigint; left: number; days: number }[]>`
          select seat_prorated(${feeMicros.toString()}::bigint, ${iso}::date) as amount,
                 extract(day from (date_trunc('month', ${iso}::date::timestamp) + interval '1 month' - interval '1 day'))::int
                   - extract(day from ${iso}::date)::int + 1 as left,
                 extract(day from (date_trunc('month', ${iso}::date::timestamp) + interval '1 month' - interval '1 day'))::int
                   as days`;
        const { amount, left, days } = row!;
        // Month lengths as the calendar has them (from JavaScript's own UTC calendar).
        const y = moment.getUTCFullYear();
        const m = moment.getUTCMonth();
        expect(days).toBe(new Date(Date.UTC(y, m + 1, 0)).getUTCDate());
        expect(left).toBe(days - moment.getUTCDate() + 1);
        expect(amount).toBeLessThanOrEqual(feeMicros);
        expect(amount * BigInt(days)).toBeGreaterThanOrEqual(feeMicros * BigInt(left));
        // Rounded up once: less than one micro-USD above the exact share.
        expect((amount - 1n) * BigInt(days)).toBeLessThan(feeMicros * BigInt(left));
      }),
      { numRuns: 300 },
    );
  });
});

describe("GET /api/v1/orgs/[org]/seats", () => {
  it("shows owners, admins and billing members each seat and the total due; members get 403, others 404", async () => {
    const org = await organization({
      balance: 12_000_000n,
      members: [
        { role: "owner", joinedAt: "2027-05-03T10:00:00Z" },
        { role: "admin", joinedAt: "2027-05-03T11:00:00Z" },
        { role: "billing", joinedAt: "2027-05-03T12:00:00Z" },
        { role: "member", joinedAt: "2027-05-03T13:00:00Z" },
      ],
    });
    await clock.at("2027-11-01T00:05:00Z", (db) => chargeSeatsForMonth(db, month("2027-11")));
    const outsider = `${randomUUID()}@example.com`;
    await insertUser(sql, { email: outsider });
    const emails = await sql<{ email: string }[]>`
      select u.email from organization_members m join users u on u.id = m.user_id
      where m.organization_id = ${org.id} order by m.joined_at`;
    const route = (await import("@/app/api/v1/orgs/[org]/seats/route")).GET;
    const get = async (email: string, path = "/") =>
      call(route, { cookie: await signIn(email), params: { org: org.slug }, path });

    for (const e of emails
      .slice(0, 3)
      .map((r) => r.email)
      .concat("admin@example.com")) {
      const res = await get(e);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ dueMicros: 30_000_000, seatPriceMicros: 10_000_000, total: 4 });
      expect(res.body.items).toHaveLength(4);
      expect(res.body.items.filter((i: { status: string }) => i.status === "paid")).toHaveLength(1);
      expect(res.body.items[0]).toMatchObject({ month: "2027-11-01", amountMicros: 10_000_000 });
    }
    const paid = (await get(emails[0]!.email)).body.items.find(
      (i: { status: string }) => i.status === "paid",
    );
    expect(paid.email).toBe(emails[0]!.email);
    expect(paid.paidAt).toBe("2027-11-01T00:05:00.000Z");
    expect((await get(emails[0]!.email, "/?month=2027-10-01")).body).toMatchObject({ items: [], total: 0 });
    expect((await get(emails[0]!.email, "/?month=2027-10-15")).status).toBe(422);
    expect((await get(emails[3]!.email)).status).toBe(403);
    expect((await get(outsider)).status).toBe(404);
  });
});

describe("plans", () => {
  it("carry a seat price per month through the API, and count their organizations", async () => {
    const cookie = await signIn("admin@example.com");
    const plans = await import("@/app/api/v1/plans/route");
    const onePlan = await import("@/app/api/v1/plans/[id]/route");
    const created = await call(plans.POST, { cookie, body: { name: "Team", seatPriceMicros: 25_000_000 } });
    expect(created.status).toBe(201);
    expect(created.body.plan).toMatchObject({ name: "Team", seatPriceMicros: 25_000_000, organizations: 0 });
    const org = await organization({ members: [{ role: "owner", joinedAt: "2027-05-03T10:00:00Z" }] });
    await sql`update accounts set plan_id = ${created.body.plan.id} where id = ${org.accountId}`;
    const changed = await call(onePlan.PATCH, {
      method: "PATCH",
      cookie,
      params: { id: created.body.plan.id },
      body: { seatPriceMicros: "30000000" },
    });
    expect(changed.body.plan).toMatchObject({ seatPriceMicros: 30_000_000, organizations: 1 });
    const listed = await call(plans.GET, { cookie });
    expect(listed.body.items.find((p: { name: string }) => p.name === "Team")).toMatchObject({
      seatPriceMicros: 30_000_000,
      organizations: 1,
    });
    for (const seatPriceMicros of [-1, 1.5, "ten"]) {
      const bad = await call(plans.POST, { cookie, body: { name: "Bad", seatPriceMicros } });
      expect(bad.status).toBe(422);
    }
    const [audit] = await sql`
      select before, after from audit_log where action = 'plan.update' and target_id = ${created.body.plan.id}`;
    expect([audit!.before.seatPriceMicros, audit!.after.seatPriceMicros]).toEqual(["25000000", "30000000"]);
  });
});
