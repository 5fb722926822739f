// Plans on real PostgreSQL: keys inherit a plan's limits unless overridden, the plan's requests per day and
// budgets are enforced when a call is held (a failed call gives its request back), monthly credits land once.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { grantLease } from "@/lib/billing/leases";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { verifyKey } from "@/lib/keys/verify";
import { grantMonthlyCredits } from "@/lib/plans/manage";
import { accountOf, event, seedPricedModel, topUp } from "../helpers/billing";
import { clearOfMidnight } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const PEPPER = process.env.KEY_PEPPER!;
let admin: string;
let adminId: string;

const plans = () => import("@/app/api/v1/plans/route");
const plan = () => import("@/app/api/v1/plans/[id]/route");
const user = () => import("@/app/api/v1/users/[id]/route");

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  admin = await signIn("admin@example.com");
  await seedPricedModel(sql);
  await seedPricedModel(sql, "fake-large");
});

async function createPlan(body: Record<string, unknown>) {
  const { POST } = await plans();
  const res = await call(POST, {
    cookie: admin,
    body: { name: `Tier ${randomUUID().slice(0, 8)}`, ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.plan as { id: string; name: string };
}

/** A developer on a plan (through the admin API), with a funded account and a key whose secret we know. */
async function onPlan(planId: string | null, key: { rpmLimit?: number; allowedModels?: string[] } = {}) {
  const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
  const { PATCH } = await user();
  const res = await call(PATCH, { method: "PATCH", cookie: admin, params: { id: userId }, body: { planId } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const account = await accountOf(sql, userId);
  await topUp(sql, adminId, account.id, 10_000_000n);
  const { createKey } = await import("@/lib/keys/create");
  const created = await createKey(
    sql,
    { userId: null, kind: "system" },
    {
      userId,
      name: "plan key",
      allowedModels: key.allowedModels ?? [],
      rpmLimit: key.rpmLimit ?? null,
      tpmLimit: null,
      expiresAt: null,
    },
    { pepper: PEPPER },
  );
  return { userId, accountId: account.id, keyId: created.key.id, secret: created.secret };
}

const hold = (keyId: string, callId: string) =>
  placeHold(sql, {
    keyId,
    callId,
    nonce: `n-${callId}`,
    model: "fake-small",
    promptTokens: 10,
    maxOutputTokens: 10,
  });

describe("plans", () => {
  it("are created and changed by admins, audited; a user's plan change is audited too", async () => {
    const p = await createPlan({ requestsPerDay: 5, rpmLimit: 9 });
    const { PATCH } = await plan();
    const res = await call(PATCH, {
      method: "PATCH",
      cookie: admin,
      params: { id: p.id },
      body: { rpmLimit: 12 },
    });
    expect(res.body.plan.rpmLimit).toBe(12);
    const dup = await call((await plans()).POST, { cookie: admin, body: { name: p.name } });
    expect(dup.status).toBe(409);
    const u = await onPlan(p.id);
    const actions =
      await sql`select action from audit_log where target_id in (${p.id}, ${u.userId}) order by id`;
    expect(actions.map((a) => a.action)).toEqual(["plan.create", "plan.update", "user.plan_change"]);
  });

  it("give keys their limits and models; a key's own can narrow them, never widen them", async () => {
    const p = await createPlan({ rpmLimit: 7, tpmLimit: 7000, allowedModels: ["fake-small"] });
    const inherits = await onPlan(p.id);
    // What a developer could set on their own key to lift the plan: more RPM, another model.
    const wider = await onPlan(p.id, { rpmLimit: 100, allowedModels: ["fake-large"] });
    const narrower = await onPlan(p.id, { rpmLimit: 2, allowedModels: ["fake-small", "fake-large"] });
    const a = await verifyKey(sql, inherits.secret, PEPPER);
    const b = await verifyKey(sql, wider.secret, PEPPER);
    const c = await verifyKey(sql, narrower.secret, PEPPER);
    expect(a.valid && a.key).toMatchObject({ rpmLimit: 7, tpmLimit: 7000, allowedModels: ["fake-small"] });
    expect(b.valid && b.key).toMatchObject({ rpmLimit: 7, tpmLimit: 7000, allowedModels: [] });
    expect(c.valid && c.key).toMatchObject({ rpmLimit: 2, tpmLimit: 7000, allowedModels: ["fake-small"] });
    // The hold refuses the model the key named but the plan does not sell, whatever the key says.
    await expect(
      placeHold(sql, {
        keyId: wider.keyId,
        callId: randomUUID(),
        nonce: "n",
        model: "fake-large",
        promptTokens: 10,
        maxOutputTokens: 10,
      }),
    ).rejects.toMatchObject({ code: "forbidden" });
    // A lease grant lists the models the gateway may draw for with the same rule.
    const lease = (keyId: string) =>
      grantLease(
        sql,
        { leaseId: randomUUID(), keyId, processId: "p", nonce: randomUUID(), wantMicros: 0n, minMicros: 0n },
        { ttlSeconds: 60 },
      );
    expect((await lease(wider.keyId)).allowedModels).toEqual([]);
    expect((await lease(narrower.keyId)).allowedModels).toEqual(["fake-small"]);
    // The catalog a developer on the plan sees (their key form, the playground, the price list) is the plan's.
    const { listModels } = await import("@/lib/models/catalog");
    const seen = async (userId: string | null, role: "admin" | "developer") =>
      (await listModels(sql, { userId, kind: "user", role })).map((m) => m.publicName);
    expect(await seen(wider.userId, "developer")).toEqual(["fake-small"]);
    expect(await seen(adminId, "admin")).toEqual(expect.arrayContaining(["fake-large", "fake-small"]));
    expect(await seen((await onPlan(null)).userId, "developer")).toEqual(
      expect.arrayContaining(["fake-large", "fake-small"]),
    );
    // A plan change is seen by the next verification (the gateway's cache keeps an answer ≤ 5 s).
    await call((await plan()).PATCH, {
      method: "PATCH",
      cookie: admin,
      params: { id: p.id },
      body: { rpmLimit: 3 },
    });
    const again = await verifyKey(sql, inherits.secret, PEPPER);
    expect(again.valid && again.key.rpmLimit).toBe(3);
    // The plan's models bind the hold too.
    await expect(
      placeHold(sql, {
        keyId: inherits.keyId,
        callId: "m",
        nonce: "m",
        model: "fake-large",
        promptTokens: 1,
        maxOutputTokens: 1,
      }),
    ).rejects.toMatchObject({ code: "forbidden" });
  });

  it("enforce requests per day at hold time; a failed call gives its request back", async () => {
    const p = await createPlan({ requestsPerDay: 3 });
    const u = await onPlan(p.id);
    // Requests are counted per UTC day: every hold and the developer's read below in one day.
    await clearOfMidnight(sql, 10);
    for (const id of ["r1", "r2", "r3"]) await hold(u.keyId, id);
    const refused = await hold(u.keyId, "r4").catch((e) => e);
    expect(refused).toMatchObject({ code: "budget_exceeded", status: 429 });
    expect(refused.message).toMatch(new RegExp(`${p.name} plan allows 3 requests per day`));
    // Nothing of the refused call was written.
    expect(await sql`select call_id from holds where key_id = ${u.keyId} order by call_id`).toHaveLength(3);
    await settleUsage(sql, [
      event(u.keyId, "r1", { status: "failure", completionTokens: 0, promptTokens: 0 }),
    ]);
    const [row] = await sql<
      { day_requests: number }[]
    >`select day_requests from accounts where id = ${u.accountId}`;
    expect(row!.day_requests).toBe(2);
    await hold(u.keyId, "r4");
    await expect(hold(u.keyId, "r5")).rejects.toMatchObject({ code: "budget_exceeded" });
    // The developer sees the count on the account.
    const developer = await sql<{ email: string }[]>`select email from users where id = ${u.userId}`;
    const { GET } = await import("@/app/api/v1/account/route");
    const mine = await call(GET, { cookie: await signIn(developer[0]!.email) });
    expect(mine.body.account).toMatchObject({ planName: p.name, requestsPerDay: 3, dayRequests: 3 });
    expect(await checkLedgerInvariants(sql, u.accountId)).toEqual([]);
  });

  it("apply the plan's money budgets where the account has none", async () => {
    const p = await createPlan({ dailyBudgetMicros: "40" });
    const u = await onPlan(p.id);
    await clearOfMidnight(sql, 10);
    await hold(u.keyId, "b1"); // 10 in × 0.5 + 10 out × 1.5 = 20 µ$
    await hold(u.keyId, "b2");
    await expect(hold(u.keyId, "b3")).rejects.toMatchObject({ code: "budget_exceeded" });
    await sql`update accounts set daily_budget_micros = 1000 where id = ${u.accountId}`;
    await hold(u.keyId, "b3");
  });

  it("credit their monthly grant once per account and month", async () => {
    const p = await createPlan({ monthlyGrantMicros: 250000 });
    const u = await onPlan(p.id);
    const before = (await accountOf(sql, u.userId)).balance_micros;
    const system = { userId: null, kind: "cron" as const };
    const first = await grantMonthlyCredits(sql, system, new Date("2026-11-24T10:00:00Z"));
    expect(first.granted).toBeGreaterThanOrEqual(1);
    await grantMonthlyCredits(sql, system, new Date("2026-11-30T23:00:00Z"));
    expect((await accountOf(sql, u.userId)).balance_micros).toBe(before + 250_000n);
    await grantMonthlyCredits(sql, system, new Date("2026-12-01T00:10:00Z"));
    expect((await accountOf(sql, u.userId)).balance_micros).toBe(before + 500_000n);
    const reasons = await sql`
      select t.reason from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
      where e.account_id = ${u.accountId} and t.kind = 'grant' order by e.id`;
    expect(reasons.map((r) => r.reason)).toEqual([
      `${p.name} plan: monthly credit for 2026-11`,
      `${p.name} plan: monthly credit for 2026-12`,
    ]);
    // An organization on the same plan (as one starts on its owner's) gets no credit: creating organizations does
    // not multiply a plan's monthly grant.
    const [org] = await sql<{ id: string }[]>`
      insert into organizations (name, slug) values ('Grant Org', 'grant-org') returning id`;
    const [team] = await sql<{ id: string }[]>`
      insert into accounts (kind, organization_id, plan_id) values ('team', ${org!.id}, ${p.id}) returning id`;
    await sql`insert into organization_members (organization_id, user_id, role) values (${org!.id}, ${u.userId}, 'owner')`;
    await grantMonthlyCredits(sql, system, new Date("2027-01-01T00:10:00Z"));
    expect((await accountOf(sql, u.userId)).balance_micros).toBe(before + 750_000n);
    const [teamAccount] = await sql<{ balance_micros: bigint }[]>`
      select balance_micros from accounts where id = ${team!.id}`;
    expect(teamAccount!.balance_micros).toBe(0n);
  });
});
