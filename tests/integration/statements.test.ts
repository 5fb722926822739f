// Monthly statements and receipts (issue 28) on real PostgreSQL, on the numbers, with every moment on a simulated
// clock: an organization's January 2026 with every kind of entry (admin top-up, card top-up through Stripe's event,
// a redemption code, a grant, seat fees, charges on 2 models × 4 keys × 2 members, an upgraded call, a correction
// and a card refund), a call straddling the month end; the statement's lines sum to the ledger (summed here on
// their own); closing after the last day's settlement writes numbered snapshots that late charges never change;
// who may read what; the PDF prints the ledger's closing balance; and generated ledger histories across a year end
// and 29 February keep opening(m + 1) = closing(m) = the ledger at the month's end.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants, creditAccount } from "@/lib/billing/ledger";
import { formatMicros } from "@/lib/billing/money";
import { settleUsage } from "@/lib/billing/settle";
import type { Db } from "@/lib/db/client";
import { chargeSeatsForMonth } from "@/lib/orgs/seats";
import { handleStripeEvent } from "@/lib/payments/webhook";
import { createBatch, redeemCode } from "@/lib/redemptions/codes";
import { drain } from "@/lib/settlement/drain";
import { startSettlement } from "@/lib/settlement/run";
import { closeMonth } from "@/lib/statements/close";
import { computeStatement } from "@/lib/statements/compute";
import { readStatement } from "@/lib/statements/read";
import type { Statement } from "@/lib/statements/schemas";
import { ADMIN_ACTOR, event, SYSTEM } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { issueOrgKey } from "../helpers/orgs";
import { pdfText } from "../helpers/pdf";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2026-01-01T00:00:00Z");
const PEPPER = process.env.KEY_PEPPER!;
const SMALL = { input: 500_000n, output: 1_500_000n, inputCost: 300_000n, outputCost: 900_000n };
const LARGE = { input: 3_000_000n, output: 12_000_000n, inputCost: 2_000_000n, outputCost: 8_000_000n };
const SEAT = 2_000_000n;

let adminId: string;
const org = { id: "", slug: "", accountId: "" };
const other = { id: "", slug: "", accountId: "" };
const people: Record<
  "owner" | "admin" | "member" | "billing" | "stranger" | "platform",
  { id: string; cookie: string }
> = {} as never;
/** Two keys of each spending member: the owner's and the admin's. */
const keys: { id: string; userId: string }[] = [];

const jan = (moment: string) => `2026-01-${moment}Z`;

async function settleAt(moment: string, events: Parameters<typeof settleUsage>[1]) {
  return clock.at(moment, (db) => settleUsage(db, events));
}

async function makeOrg(name: string, slug: string, ownerId: string) {
  const [plan] = await sql<{ id: string }[]>`
    insert into plans (name, seat_price_micros) values (${`seats-${slug}`}, ${SEAT}) returning id`;
  const [o] = await sql<{ id: string }[]>`
    insert into organizations (name, slug, created_by) values (${name}, ${slug}, ${ownerId}) returning id`;
  const [a] = await sql<{ id: string }[]>`
    insert into accounts (kind, organization_id, plan_id) values ('team', ${o!.id}, ${plan!.id}) returning id`;
  return { id: o!.id, slug, accountId: a!.id };
}

async function member(orgId: string, userId: string, role: string) {
  await sql`insert into organization_members (organization_id, user_id, role, joined_at)
            values (${orgId}, ${userId}, ${role}, '2025-12-15T00:00:00Z')`;
}

/** The ledger's own sum of an account's entries whose transaction is before `before` (and from `from`). */
async function ledgerSum(accountId: string, before: string, from = "1970-01-01T00:00:00Z") {
  const [row] = await sql<{ total: bigint }[]>`
    select coalesce(sum(e.amount_micros), 0)::bigint as total
    from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
    where e.account_id = ${accountId} and t.created_at >= ${from} and t.created_at < ${before}`;
  return row!.total;
}

const sum = (xs: { amountMicros: bigint }[]) => xs.reduce((s, x) => s + x.amountMicros, 0n);

/** The statement's own identity: opening + every line = closing, and the three views of charges agree. */
function expectBalanced(s: Statement) {
  expect(sum(s.chargesByModel)).toBe(s.chargesMicros);
  expect(sum(s.chargesByKey)).toBe(s.chargesMicros);
  expect(sum(s.chargesByMember)).toBe(s.chargesMicros);
  expect(s.openingMicros + sum(s.credits) + s.chargesMicros + sum(s.seatFees) + sum(s.adjustments)).toBe(
    s.closingMicros,
  );
}

async function settleDay(day: string) {
  await startSettlement(sql, SYSTEM, { day, trigger: "manual", chunkAccounts: 50 });
  await drain(sql, { budgetMs: 20_000, replay: async () => [], policy: "release", graceMinutes: 0 });
  const [run] = await sql<{ status: string }[]>`select status from settlement_runs where day = ${day}`;
  expect(run?.status).toBe("completed");
}

const statementRoute = () => import("@/app/api/v1/orgs/[org]/statements/[month]/route");
const statementsRoute = () => import("@/app/api/v1/orgs/[org]/statements/route");
const receiptRoute = () => import("@/app/api/v1/receipts/[number]/route");

let callSeq = 0;
const callId = () => `call-${++callSeq}-${randomUUID()}`;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "platform@example.com", role: "admin" });
  for (const who of ["owner", "admin", "member", "billing", "stranger"] as const) {
    const id = await insertUser(sql, { email: `${who}@example.com` });
    people[who] = { id, cookie: await signIn(`${who}@example.com`) };
  }
  people.platform = { id: adminId, cookie: await signIn("platform@example.com") };
  await clock.seedPricedModel("stmt-small", SMALL);
  await clock.seedPricedModel("stmt-large", LARGE);
  Object.assign(org, await makeOrg("Acme Statements", "acme-statements", people.owner.id));
  for (const role of ["owner", "admin", "member", "billing"] as const)
    await member(org.id, people[role].id, role);
  Object.assign(other, await makeOrg("Other Org", "other-org", people.stranger.id));
  await member(other.id, people.stranger.id, "owner");
  for (const who of ["owner", "admin"] as const) {
    for (const n of [1, 2]) {
      const key = await issueOrgKey(sql, {
        accountId: org.accountId,
        userId: people[who].id,
        pepper: PEPPER,
        name: `${who} key ${n}`,
      });
      keys.push({ id: key.id, userId: people[who].id });
    }
  }
  await sql`update operator_settings set legal_name = 'Tollgate Test Ltd', address = ${"1 Ledger Lane\nMoneytown"},
            tax_id = 'VAT-42', footer = 'Thank you.'`;

  // ---- January 2026 ----
  await clock.at(jan("01T00:10:00"), (db) => chargeSeatsForMonth(db, { month: "2026-01-01" }));
  await clock.at(jan("02T09:00:00"), (db) =>
    creditAccount(db, ADMIN_ACTOR(adminId), {
      accountId: org.accountId,
      amountMicros: 50_000_000n,
      kind: "topup",
      reason: "Invoice 17 paid by wire",
      idempotencyKey: "stmt-topup-1",
    }),
  );
  // The seat fees were due until the top-up: pay them now (the retry job's verb).
  const { payDueSeats } = await import("@/lib/orgs/seats");
  await clock.at(jan("02T09:01:00"), (db) => payDueSeats(db, { accountId: org.accountId }));
  // A card top-up, credited from Stripe's event; Stripe's receipt link arrives with the charge.
  const session = {
    id: "cs_test_statements_1",
    object: "checkout.session",
    payment_status: "paid",
    amount_total: 2500,
    currency: "usd",
    payment_intent: "pi_statements_1",
    metadata: { accountId: org.accountId, userId: people.billing.id },
  };
  await clock.at(jan("03T10:00:00"), (db) =>
    handleStripeEvent(db, {
      id: "evt_stmt_1",
      type: "checkout.session.completed",
      data: { object: session },
    } as never),
  );
  await clock.at(jan("03T10:00:05"), (db) =>
    handleStripeEvent(db, {
      id: "evt_stmt_2",
      type: "charge.succeeded",
      data: {
        object: {
          id: "ch_stmt_1",
          payment_intent: "pi_statements_1",
          receipt_url: "https://pay.stripe.com/receipts/stmt_1",
        },
      },
    } as never),
  );
  const { codes } = await createBatch(
    sql,
    ADMIN_ACTOR(adminId),
    { amountMicros: 7_000_000n, count: 1, expiresAt: null, note: "Conference" },
    { pepper: PEPPER },
  );
  await clock.at(jan("04T11:00:00"), (db) =>
    redeemCode(db, { userId: people.owner.id, kind: "user", role: "developer" }, codes[0]!, {
      pepper: PEPPER,
      limits: { perUser: 10, perIp: 10, windowSeconds: 60 },
      org: org.slug,
    }),
  );
  await clock.at(jan("05T12:00:00"), (db) =>
    creditAccount(db, ADMIN_ACTOR(adminId), {
      accountId: org.accountId,
      amountMicros: 3_000_000n,
      kind: "grant",
      reason: "Launch credit",
      idempotencyKey: "stmt-grant-1",
    }),
  );
  // Charges: every key on both models, in two batches on different days.
  for (const [day, tokens] of [
    ["10", 1000],
    ["15", 2345],
  ] as const) {
    const events = keys.flatMap((k, i) =>
      ["stmt-small", "stmt-large"].map((model) =>
        event(k.id, callId(), {
          modelGroup: model,
          promptTokens: tokens + i * 10,
          completionTokens: 300 + i,
          startedAt: jan(`${day}T08:00:00`),
          endedAt: jan(`${day}T08:00:02`),
        }),
      ),
    );
    await settleAt(jan(`${day}T08:00:05`), events);
  }
  // A call reported failed, then served (a better outcome later): the upgrade is a charge of its own.
  const upgraded = callId();
  const base = { modelGroup: "stmt-large", startedAt: jan("18T08:00:00"), endedAt: jan("18T08:00:03") };
  await settleAt(jan("18T08:00:04"), [
    event(keys[0]!.id, upgraded, { ...base, status: "failure", promptTokens: 0, completionTokens: 0 }),
  ]);
  await settleAt(jan("18T08:10:00"), [
    event(keys[0]!.id, upgraded, { ...base, promptTokens: 5000, completionTokens: 700 }),
  ]);
  await clock.at(jan("20T09:00:00"), (db) =>
    creditAccount(db, ADMIN_ACTOR(adminId), {
      accountId: org.accountId,
      amountMicros: -1_250_000n,
      kind: "adjustment",
      reason: "Correction: duplicate grant",
      idempotencyKey: "stmt-adjust-1",
    }),
  );
  await clock.at(jan("21T09:00:00"), (db) =>
    handleStripeEvent(db, {
      id: "evt_stmt_3",
      type: "charge.refunded",
      data: { object: { id: "ch_stmt_1", payment_intent: "pi_statements_1", amount_refunded: 500 } },
    } as never),
  );
  // The other organization has money too (its own statement, and a 404 for everyone else).
  await clock.at(jan("06T00:00:00"), (db) =>
    creditAccount(db, ADMIN_ACTOR(adminId), {
      accountId: other.accountId,
      amountMicros: 1_000_000n,
      kind: "topup",
      reason: "other",
      idempotencyKey: "stmt-other-1",
    }),
  );
  // A call at the month's last second, settled after midnight: February's (the money moved then).
  await settleAt("2026-02-01T00:00:05Z", [
    event(keys[1]!.id, callId(), {
      modelGroup: "stmt-small",
      startedAt: "2026-01-31T23:59:59Z",
      endedAt: "2026-02-01T00:00:01Z",
      promptTokens: 4000,
      completionTokens: 900,
    }),
  ]);
  expect(await checkLedgerInvariants(sql)).toEqual([]);
}, 120_000);

describe("January's statement of an organization", () => {
  it("sums to the ledger to the micro-dollar, with every kind of line, summed on its own", async () => {
    const s = await clock.at("2026-01-25T00:00:00Z", (db) => readStatement(db, org.accountId, "2026-01"));
    expect(s.status).toBe("open");
    expect(s.number).toBeNull();
    expect(s.openingMicros).toBe(0n);
    expect(s.closingMicros).toBe(await ledgerSum(org.accountId, "2026-02-01T00:00:00Z"));
    expectBalanced(s);

    // Credits: one line each, with its method and receipt, summed from the ledger by kind.
    expect(s.credits.map((c) => [c.method, c.amountMicros])).toEqual([
      ["admin_topup", 50_000_000n],
      ["card", 25_000_000n],
      ["code", 7_000_000n],
      ["grant", 3_000_000n],
    ]);
    expect(s.credits.every((c) => /^RC-2026-\d{6}$/.test(c.receipt ?? ""))).toBe(true);
    // Seat fees: one a member (4 members), paid on the 2nd.
    expect(s.seatFees).toHaveLength(4);
    expect(sum(s.seatFees)).toBe(-4n * SEAT);
    // Adjustments: the correction and the card refund, nothing late in the first month.
    expect(s.adjustments.map((a) => [a.kind, a.amountMicros])).toEqual([
      ["correction", -1_250_000n],
      ["refund", -5_000_000n],
    ]);

    // Charges, independently: usage rows of calls made and charged in January, by model, key and member (a call
    // charged in February, such as the one of the month's last second, is not January's).
    const januarysCharge = sql`(ledger_transaction_id is null or ledger_transaction_id not in (
      select id from ledger_transactions where created_at >= '2026-02-01T00:00:00Z'))`;
    const byModel = await sql<{ model: string; total: bigint; calls: number }[]>`
      select model_group as model, -sum(revenue_micros)::bigint as total, count(*)::int as calls
      from usage_events where account_id = ${org.accountId} and revenue_micros > 0
        and started_at < '2026-02-01T00:00:00Z' and ${januarysCharge} group by model_group order by model_group`;
    expect(byModel).toHaveLength(2);
    expect(
      [...s.chargesByModel]
        .sort((a, b) => a.label.localeCompare(b.label))
        .map((g) => [g.label, g.amountMicros, g.calls]),
    ).toEqual(byModel.map((r) => [r.model, r.total, r.calls]));
    const byKey = await sql<{ id: string; total: bigint }[]>`
      select key_id::text as id, -sum(revenue_micros)::bigint as total from usage_events
      where account_id = ${org.accountId} and started_at < '2026-02-01T00:00:00Z' and revenue_micros > 0
        and ${januarysCharge}
      group by key_id order by key_id`;
    expect(byKey).toHaveLength(4);
    expect(
      [...s.chargesByKey].sort((a, b) => a.id.localeCompare(b.id)).map((g) => [g.id, g.amountMicros]),
    ).toEqual(byKey.map((r) => [r.id, r.total]));
    const byMember = await sql<{ id: string; total: bigint }[]>`
      select k.user_id::text as id, -sum(revenue_micros)::bigint as total
      from usage_events join api_keys k on k.id = usage_events.key_id
      where usage_events.account_id = ${org.accountId} and started_at < '2026-02-01T00:00:00Z' and revenue_micros > 0
        and ${januarysCharge}
      group by k.user_id order by k.user_id`;
    expect(byMember).toHaveLength(2);
    expect(
      [...s.chargesByMember].sort((a, b) => a.id.localeCompare(b.id)).map((g) => [g.id, g.amountMicros]),
    ).toEqual(byMember.map((r) => [r.id, r.total]));
    // And the charge entries of the ledger in January are exactly the charges.
    const [charged] = await sql<{ total: bigint }[]>`
      select sum(e.amount_micros)::bigint as total from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
      where e.account_id = ${org.accountId} and t.kind in ('charge', 'charge_adjustment')
        and t.created_at < '2026-02-01T00:00:00Z'`;
    expect(s.chargesMicros).toBe(charged!.total);
    expect(s.chargesMicros).toBeLessThan(0n);
  });

  it("is refused before the month ends and before its last day's settlement, then closed with gapless numbers", async () => {
    await expect(
      clock.at("2026-01-31T23:00:00Z", (db) => closeMonth(db, SYSTEM, "2026-01")),
    ).rejects.toMatchObject({
      code: "conflict",
    });
    await expect(clock.at("2026-02-01T01:00:00Z", (db) => closeMonth(db, SYSTEM, "2026-01"))).rejects.toThrow(
      /settlement of 2026-01-31/,
    );
    await settleDay("2026-01-31");
    const live = await computeStatement(sql, org.accountId, "2026-01");
    const closed = await clock.at("2026-02-01T01:00:00Z", (db) => closeMonth(db, SYSTEM, "2026-01"));
    // The two organizations' accounts had money before February (no person's account did).
    expect(closed).toMatchObject({
      closed: true,
      statements: 2,
      firstNumber: "ST-2026-000001",
      lastNumber: "ST-2026-000002",
    });
    const again = await clock.at("2026-02-01T02:00:00Z", (db) => closeMonth(db, SYSTEM, "2026-01"));
    expect(again.closed).toBe(false);
    const snapshot = await readStatement(sql, org.accountId, "2026-01");
    expect(snapshot.status).toBe("closed");
    expect(snapshot.number).toMatch(/^ST-2026-00000[12]$/);
    expect({ ...snapshot, status: "x", number: null, closedAt: null }).toEqual({
      ...live,
      status: "x",
      number: null,
      closedAt: null,
    });
    await expect(sql`update statements set closing_micros = 0`).rejects.toThrow(/append-only/);
    await expect(sql`delete from statements`).rejects.toThrow(/append-only/);
  });

  it("never changes when a late charge for January lands; February states it as an adjustment", async () => {
    const row = () =>
      sql`select * , lines::text as text from statements where account_id = ${org.accountId} and month = '2026-01-01'`;
    const before = await row();
    const { GET } = await statementRoute();
    const params = { org: org.slug, month: "2026-01" };
    const csvBefore = await call(GET, { cookie: people.owner.cookie, params, path: "/?format=csv" });
    const pdfBefore = await fetchPdf(params);
    // A call of 31 January reported days later (the gateway's outbox after an outage).
    const lateCall = callId();
    await settleAt("2026-02-03T10:00:00Z", [
      event(keys[2]!.id, lateCall, {
        modelGroup: "stmt-large",
        startedAt: "2026-01-31T12:00:00Z",
        endedAt: "2026-01-31T12:00:02Z",
        promptTokens: 1200,
        completionTokens: 100,
      }),
    ]);
    expect(await row()).toEqual(before);
    expect((await call(GET, { cookie: people.owner.cookie, params, path: "/?format=csv" })).body).toBe(
      csvBefore.body,
    );
    expect(Buffer.from(await fetchPdf(params)).equals(Buffer.from(pdfBefore))).toBe(true);

    const jan = await readStatement(sql, org.accountId, "2026-01");
    const feb = await clock.at("2026-02-10T00:00:00Z", (db) => readStatement(db, org.accountId, "2026-02"));
    expect(feb.status).toBe("open");
    expect(feb.openingMicros).toBe(jan.closingMicros);
    expect(feb.closingMicros).toBe(await ledgerSum(org.accountId, "2026-03-01T00:00:00Z"));
    expectBalanced(feb);
    const [late] = await sql<{ total: bigint; calls: number }[]>`
      select -sum(revenue_micros)::bigint as total, count(*)::int as calls from usage_events
      where account_id = ${org.accountId} and started_at < '2026-02-01T00:00:00Z'
        and ledger_transaction_id in (select id from ledger_transactions where created_at >= '2026-02-01T00:00:00Z')`;
    expect(late!.calls).toBe(2); // the call of the month's last second and the one reported days later
    expect(feb.adjustments).toEqual([
      expect.objectContaining({
        kind: "late_charges",
        originalMonth: "2026-01",
        calls: 2,
        amountMicros: late!.total,
      }),
    ]);
    expect(feb.adjustments[0]!.description).toContain("January 2026");
    expect(feb.chargesMicros).toBe(0n);
  });

  it("numbers the next month's statements on from the last, gapless", async () => {
    await settleDay("2026-02-28");
    const closed = await clock.at("2026-03-01T01:00:00Z", (db) => closeMonth(db, SYSTEM, "2026-02"));
    expect(closed).toMatchObject({
      statements: 2,
      firstNumber: "ST-2026-000003",
      lastNumber: "ST-2026-000004",
    });
    const numbers = await sql<{ number: bigint }[]>`select number from statements order by number`;
    expect(numbers.map((n) => n.number)).toEqual([1n, 2n, 3n, 4n]);
    // The daily cron's part: a month is enqueued for closing only once its last day's settlement has completed, and
    // the queue closes it, numbering on.
    const { enqueueStatementClosings } = await import("@/lib/statements/close");
    expect(await clock.at("2026-04-02T00:05:00Z", (db) => enqueueStatementClosings(db))).toEqual({
      enqueued: [],
    });
    await settleDay("2026-03-31");
    expect(await clock.at("2026-04-02T00:05:00Z", (db) => enqueueStatementClosings(db))).toEqual({
      enqueued: ["2026-03"],
    });
    await drain(sql, { budgetMs: 20_000, replay: async () => [], policy: "release", graceMinutes: 0 });
    const [march] = await sql<
      { statements: number }[]
    >`select statements from statement_months where month = '2026-03-01'`;
    expect(march?.statements).toBe(2);
    expect(await clock.at("2026-04-03T00:05:00Z", (db) => enqueueStatementClosings(db))).toEqual({
      enqueued: [],
    });
    const all = await sql<{ number: bigint }[]>`select number from statements order by number`;
    expect(all.map((n) => n.number)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    const receipts = await sql<{ number: bigint }[]>`select number from receipts order by number`;
    expect(receipts.map((r) => Number(r.number))).toEqual(receipts.map((_, i) => i + 1));
  });
});

async function fetchPdf(params: Record<string, string>, cookie = people.owner.cookie): Promise<Uint8Array> {
  const { GET } = await statementRoute();
  const req = new Request(`http://localhost/?format=pdf`, {
    headers: { cookie, "x-forwarded-for": "127.0.0.1" },
  });
  const res = await GET(req, { params: Promise.resolve(params) });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/pdf");
  return new Uint8Array(await res.arrayBuffer());
}

describe("who reads statements and receipts", () => {
  it("the owner, an admin and a billing member of the organization, and platform admins; a member 403; others 404", async () => {
    const { GET } = await statementRoute();
    const { GET: LIST } = await statementsRoute();
    const params = { org: org.slug, month: "2026-01" };
    const expected = {
      owner: 200,
      admin: 200,
      billing: 200,
      platform: 200,
      member: 403,
      stranger: 404,
    } as const;
    for (const [who, status] of Object.entries(expected)) {
      const cookie = people[who as keyof typeof people].cookie;
      expect((await call(GET, { cookie, params })).status, who).toBe(status);
      expect((await call(LIST, { cookie, params: { org: org.slug } })).status, who).toBe(status);
    }
    // The other organization's owner cannot open ours by its id either; and we cannot open theirs.
    expect(
      (await call(GET, { cookie: people.stranger.cookie, params: { org: org.id, month: "2026-01" } })).status,
    ).toBe(404);
    expect(
      (await call(GET, { cookie: people.owner.cookie, params: { org: other.slug, month: "2026-01" } }))
        .status,
    ).toBe(404);
    // A month that is not a month, or not begun, is 404.
    for (const month of ["2026-13", "2026-1", "next", "2999-01"]) {
      expect(
        (await call(GET, { cookie: people.owner.cookie, params: { org: org.slug, month } })).status,
        month,
      ).toBe(404);
    }
    const list = await call(LIST, { cookie: people.owner.cookie, params: { org: org.slug } });
    const byMonth = Object.fromEntries(
      (list.body.items as { month: string; status: string; number: string | null }[]).map((i) => [
        i.month,
        i,
      ]),
    );
    expect(byMonth["2026-01"]).toMatchObject({ status: "closed" });
    expect(byMonth["2026-02"]).toMatchObject({ status: "closed" });
  });

  it("no statement carries provider cost", async () => {
    const { GET } = await statementRoute();
    const res = await call(GET, {
      cookie: people.platform.cookie,
      params: { org: org.slug, month: "2026-01" },
    });
    expect(JSON.stringify(res.body)).not.toMatch(/cost/i);
  });

  it("a receipt prints the operator, the amount, the method and Stripe's own receipt, for its account's readers only", async () => {
    const [card] = await sql<{ label: string }[]>`
      select r.label from receipts r join ledger_transactions t on t.id = r.transaction_id
      where t.idempotency_key = 'topup:stripe:session:cs_test_statements_1'`;
    const { GET } = await receiptRoute();
    const res = await call(GET, { cookie: people.billing.cookie, params: { number: card!.label } });
    expect(res.status).toBe(200);
    expect(res.body.receipt).toMatchObject({
      label: card!.label,
      method: "card",
      amountMicros: 25_000_000,
      holder: "Acme Statements",
      stripeReceiptUrl: "https://pay.stripe.com/receipts/stmt_1",
      operator: { legalName: "Tollgate Test Ltd", address: "1 Ledger Lane\nMoneytown", taxId: "VAT-42" },
    });
    expect(res.body.receipt.at).toBe("2026-01-03T10:00:00.000Z");
    for (const who of ["member", "stranger"] as const) {
      expect(
        (await call(GET, { cookie: people[who].cookie, params: { number: card!.label } })).status,
        who,
      ).toBe(404);
    }
    const req = new Request("http://localhost/?format=pdf", { headers: { cookie: people.owner.cookie } });
    const pdf = await GET(req, { params: Promise.resolve({ number: card!.label }) });
    const text = await pdfText(new Uint8Array(await pdf.arrayBuffer()));
    for (const expected of [
      card!.label,
      "Tollgate Test Ltd",
      "1 Ledger Lane",
      "VAT-42",
      "$25.000000",
      "Card top-up",
    ]) {
      expect(text).toContain(expected);
    }
  });
});

describe("operator settings", () => {
  it("are changed by admins only, audited with before and after; bad input is refused with 422 and writes nothing", async () => {
    const { PATCH, GET } = await import("@/app/api/v1/operator-settings/route");
    const before = (await call(GET, { cookie: people.platform.cookie })).body.settings;
    const bad = [
      { legalName: "x".repeat(201) },
      { contactEmail: "not an email" },
      { footer: 42 },
      { legalName: "Fine", unknown: true },
      {},
    ];
    for (const body of bad) {
      const res = await call(PATCH, { cookie: people.platform.cookie, method: "PATCH", body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect(
      (await call(PATCH, { cookie: people.owner.cookie, method: "PATCH", body: { footer: "x" } })).status,
    ).toBe(403);
    expect((await call(GET, { cookie: people.platform.cookie })).body.settings).toEqual(before);
    const ok = await call(PATCH, {
      cookie: people.platform.cookie,
      method: "PATCH",
      body: { contactEmail: "Billing@Tollgate.Example", footer: "Thank you." },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.settings).toMatchObject({
      contactEmail: "billing@tollgate.example",
      legalName: "Tollgate Test Ltd",
    });
    const [audit] = await sql<
      { actor_id: string; before: { contactEmail: string }; after: { contactEmail: string } }[]
    >`
      select actor_id, before, after from audit_log where action = 'operator.settings' order by id desc limit 1`;
    expect(audit).toMatchObject({
      actor_id: adminId,
      before: { contactEmail: "" },
      after: { contactEmail: "billing@tollgate.example" },
    });
  });
});

describe("the statement PDF", () => {
  it("prints the closing balance the ledger has at the month's end, and the statement's number", async () => {
    const text = await pdfText(await fetchPdf({ org: org.slug, month: "2026-01" }));
    const ledger = await ledgerSum(org.accountId, "2026-02-01T00:00:00Z");
    const closing = /Closing balance\s+(-?\$[\d,]+\.\d{6})/.exec(text);
    expect(closing?.[1]).toBe(formatMicros(ledger));
    expect(text).toMatch(/Statement ST-2026-00000[12]/);
    expect(text).toContain("Tollgate Test Ltd");
    expect(text).toContain("Acme Statements");
  });
});

describe("generated ledger histories across a year end and 29 February", () => {
  const propertyClock = simulatedClock(sql, "2027-12-01T00:00:00Z");
  const MONTHS = ["2027-12", "2028-01", "2028-02", "2028-03"];
  const START = Date.parse("2027-12-01T00:00:00Z");
  const END = Date.parse("2028-04-01T00:00:00Z");
  // Moments anywhere in the four months, and the instants around each month's end (29 February's last included).
  const EDGES = [
    "2027-12-31T23:59:59.999Z",
    "2028-01-01T00:00:00Z",
    "2028-02-29T23:59:59.999Z",
    "2028-03-01T00:00:00Z",
  ];
  const moment = fc.oneof(
    fc.integer({ min: START, max: END - 1 }).map((ms) => new Date(ms).toISOString()),
    fc.constantFrom(...EDGES),
  );
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("credit" as const),
      at: moment,
      micros: fc.bigInt({ min: 1n, max: 50_000_000n }),
    }),
    fc.record({
      kind: fc.constant("grant" as const),
      at: moment,
      micros: fc.bigInt({ min: 1n, max: 5_000_000n }),
    }),
    fc.record({
      kind: fc.constant("debit" as const),
      at: moment,
      micros: fc.bigInt({ min: 1n, max: 2_000_000n }),
    }),
    fc.record({
      kind: fc.constant("call" as const),
      at: moment,
      // The call started up to two days before it was settled: across a month end it is a late charge.
      startedBeforeMs: fc.integer({ min: 0, max: 2 * 86_400_000 }),
      tokens: fc.integer({ min: 1, max: 50_000 }),
      model: fc.constantFrom("stmt-small", "stmt-large"),
    }),
  );

  it("opening(m + 1) = closing(m) = the ledger at the month's end, every line summed", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const userId = await insertUser(sql, { email: `prop-${++run}-${randomUUID()}@example.com` });
        const [account] = await sql<
          { id: string }[]
        >`select id from accounts where owner_user_id = ${userId}`;
        const keyId = (await issueOrgKey(sql, { accountId: account!.id, userId, pepper: PEPPER })).id;
        for (const [i, o] of [...ops].sort((a, b) => a.at.localeCompare(b.at)).entries()) {
          await propertyClock.at(o.at, async (db: Db) => {
            if (o.kind === "call") {
              const startedAt = new Date(Math.max(START, Date.parse(o.at) - o.startedBeforeMs)).toISOString();
              await settleUsage(db, [
                event(keyId, `prop-${run}-${i}`, {
                  modelGroup: o.model,
                  promptTokens: o.tokens,
                  startedAt,
                  endedAt: startedAt,
                }),
              ]);
            } else {
              await creditAccount(db, ADMIN_ACTOR(adminId), {
                accountId: account!.id,
                amountMicros: o.kind === "debit" ? -o.micros : o.micros,
                kind: o.kind === "grant" ? "grant" : "adjustment",
                reason: o.kind,
                idempotencyKey: `prop-${run}-${i}`,
                force: false,
              }).catch((error: { code?: string }) => {
                // A debit the balance cannot take is refused (409) and writes nothing.
                if (error.code !== "conflict") throw error;
              });
            }
          });
        }
        let previousClosing = 0n;
        for (const month of MONTHS) {
          const s = await computeStatement(sql, account!.id, month);
          const end =
            month === "2028-03"
              ? "2028-04-01T00:00:00Z"
              : `${MONTHS[MONTHS.indexOf(month) + 1]}-01T00:00:00Z`;
          expect(s.openingMicros).toBe(previousClosing);
          expect(s.closingMicros).toBe(await ledgerSum(account!.id, end));
          expectBalanced(s);
          // Late charges name an earlier month, and only calls started before this month are late.
          for (const a of s.adjustments.filter((x) => x.kind === "late_charges"))
            expect(a.originalMonth! < month).toBe(true);
          previousClosing = s.closingMicros;
        }
      }),
      { numRuns: 25 },
    );
  }, 240_000);
});

describe("names in statements", () => {
  const formula = { id: "", slug: "formula-org", accountId: "" };
  const KEY_NAME = '-1+HYPERLINK("https://evil.example/steal")';
  const MEMBER_NAME = '-2+HYPERLINK("https://evil.example/member")';
  let ownerCookie = "";
  let memberId = "";
  let memberKey = "";
  const june = (moment: string) => `2026-06-${moment}Z`;

  beforeAll(async () => {
    const ownerId = await insertUser(sql, { email: "formula-owner@example.com" });
    ownerCookie = await signIn("formula-owner@example.com");
    memberId = await insertUser(sql, { email: "formula-member@example.com" });
    await sql`update users set name = ${MEMBER_NAME} where id = ${memberId}`;
    Object.assign(formula, await makeOrg("Formula Org", formula.slug, ownerId));
    await member(formula.id, ownerId, "owner");
    await member(formula.id, memberId, "member");
    memberKey = (
      await issueOrgKey(sql, {
        accountId: formula.accountId,
        userId: memberId,
        pepper: PEPPER,
        name: KEY_NAME,
      })
    ).id;
    await clock.at(june("01T09:00:00"), (db) =>
      creditAccount(db, ADMIN_ACTOR(adminId), {
        accountId: formula.accountId,
        amountMicros: 500_000_000n,
        kind: "topup",
        reason: "June funding",
        idempotencyKey: "formula-topup",
      }),
    );
    await settleAt(june("10T12:00:05"), [
      event(memberKey, callId(), {
        modelGroup: "stmt-small",
        startedAt: june("10T12:00:00"),
        endedAt: june("10T12:00:02"),
      }),
    ]);
  });

  it("a key or member named like a formula is a quoted text in the CSV, while amounts keep their minus", async () => {
    const { GET } = await statementRoute();
    const res = await call(GET, {
      cookie: ownerCookie,
      params: { org: formula.slug, month: "2026-06" },
      path: "/?format=csv",
    });
    expect(res.status).toBe(200);
    const lines = String(res.body).split(/\r?\n/);
    const byKey = lines.find((l) => l.startsWith("charges_by_key"))!;
    const byMember = lines.find((l) => l.startsWith("charges_by_member"))!;
    expect(byKey).toContain(`"'${KEY_NAME.replaceAll('"', '""')}`);
    expect(byMember).toContain(`"'${MEMBER_NAME.replaceAll('"', '""')}"`);
    // The amounts are numbers a spreadsheet sums: negative, not quoted.
    expect(byKey).toMatch(/,-0\.\d{6},-\d+$/);
  });

  it("the current month's statement, read while calls settle, never fails and always equals the ledger", async () => {
    const august = (moment: string) => `2026-08-${moment}Z`;
    const shape = {
      modelGroup: "stmt-small",
      startedAt: august("15T12:00:00"),
      endedAt: august("15T12:00:01"),
    };
    await settleAt(august("15T12:00:02"), [event(memberKey, callId(), shape)]);
    const [one] = await sql<{ micros: bigint }[]>`
      select revenue_micros as micros from usage_events where key_id = ${memberKey} and started_at = ${shape.startedAt}`;
    let stop = false;
    let settled = 1;
    // Bounded: at most 150 batches, however long the reads take on a slow host.
    const settler = (async () => {
      for (let batch = 0; !stop && batch < 150; batch++) {
        await settleAt(august("15T12:00:02"), [
          event(memberKey, callId(), shape),
          event(memberKey, callId(), shape),
        ]);
        settled += 2;
      }
    })();
    const failures: string[] = [];
    let reads = 0;
    const { GET } = await statementRoute();
    try {
      for (let i = 0; i < 120; i++) {
        try {
          const s = await computeStatement(sql, formula.accountId, "2026-08");
          expectBalanced(s);
          if (s.chargesByKey.some((g) => g.id === "unattributed")) failures.push("unattributed charges");
          // Every call read is charged in full in the same read: n calls, n times one call's charge.
          expect(s.chargesMicros).toBe(-one!.micros * BigInt(s.calls));
          reads++;
        } catch (e) {
          failures.push((e as Error).message);
        }
        if (i % 4 === 0) {
          const res = await call(GET, {
            cookie: ownerCookie,
            params: { org: formula.slug, month: "2026-08" },
          });
          if (res.status !== 200) failures.push(`HTTP ${res.status}`);
        }
      }
    } finally {
      stop = true;
      await settler;
    }
    expect(failures).toEqual([]);
    expect(reads).toBe(120);
    expect(settled).toBeGreaterThan(10);
    const last = await computeStatement(sql, formula.accountId, "2026-08");
    expect(last.calls).toBe(settled);
    expect(last.closingMicros).toBe(await ledgerSum(formula.accountId, "2026-09-01T00:00:00Z"));
  }, 120_000);

  it("a closed statement stores keys and members by id and shows them as they are named now", async () => {
    await settleDay("2026-06-30");
    await clock.at("2026-07-01T01:00:00Z", (db) => closeMonth(db, SYSTEM, "2026-06"));
    const [row] = await sql<{ lines: string }[]>`
      select lines::text from statements where account_id = ${formula.accountId} and month = '2026-06-01'`;
    expect(row!.lines).not.toContain("HYPERLINK");
    expect(row!.lines).not.toContain("formula-member@example.com");
    const closed = await readStatement(sql, formula.accountId, "2026-06");
    expect(closed.status).toBe("closed");
    expect(closed.chargesByKey.map((g) => g.label)).toEqual([expect.stringContaining(KEY_NAME)]);
    expect(closed.chargesByMember.map((g) => g.label)).toEqual([MEMBER_NAME]);
    // Renamed (or erased), the person and the key read as they are now; the amounts are the snapshot's.
    await sql`update users set name = 'Renamed Member' where id = ${memberId}`;
    await sql`update api_keys set name = 'renamed key' where id = ${memberKey}`;
    const again = await readStatement(sql, formula.accountId, "2026-06");
    expect(again.chargesByKey.map((g) => g.label)).toEqual([expect.stringMatching(/^renamed key \(/)]);
    expect(again.chargesByMember.map((g) => g.label)).toEqual(["Renamed Member"]);
    expect(again.chargesMicros).toBe(closed.chargesMicros);
    expect(again.closingMicros).toBe(closed.closingMicros);
  });

  it("a statement closed before snapshots had a version reads its stored labels as they were", async () => {
    const lines = {
      credits: [],
      chargesByModel: [{ id: "stmt-small", label: "stmt-small", calls: 1, amountMicros: "-5" }],
      chargesByKey: [{ id: memberKey, label: "Old key label (sk-old…)", calls: 1, amountMicros: "-5" }],
      chargesByMember: [{ id: memberId, label: "Old member label", calls: 1, amountMicros: "-5" }],
      seatFees: [],
      adjustments: [],
      calls: 1,
    };
    await sql`
      insert into statements (account_id, month, number, label, opening_micros, credits_micros, charges_micros,
                              seat_fees_micros, adjustments_micros, closing_micros, lines)
      values (${formula.accountId}, '2025-01-01', 990001, 'ST-2025-990001', 10, 0, -5, 0, 0, 5, ${sql.json(lines)})`;
    const old = await readStatement(sql, formula.accountId, "2025-01");
    expect(old.chargesByKey.map((g) => g.label)).toEqual(["Old key label (sk-old…)"]);
    expect(old.chargesByMember.map((g) => g.label)).toEqual(["Old member label"]);
    expect(old.chargesMicros).toBe(-5n);
  });
});
