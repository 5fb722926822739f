// Organization keys, money in and attribution on real PostgreSQL (issue 25, ADR 0016): a member's key spends the
// organization's money and each call names its key, member and organization in the request log, its CSV and
// analytics; a key is made and rotated by the member it spends as, owners and admins manage members' keys (the owner's
// and admins' only by the owner), billing members make none, outsiders learn nothing; card
// top-ups (against a local fake of Stripe's API), redemption codes and admin credits land on the organization's
// account in balanced ledger transactions; low-balance notices reach its owners and billing members only (a real
// SMTP server started here); an app's key API hides the organization's balance from a plain member's key.
import { randomBytes, randomUUID } from "node:crypto";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { config } from "@/lib/config";
import { hashKey } from "@/lib/keys/secret";
import { playgroundKeyFor } from "@/lib/playground/key";
import { drain } from "@/lib/settlement/drain";
import { accountOf, event, seedPricedModel, topUp } from "../helpers/billing";
import { clearOfMidnight } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { type FakeStripe, startFakeStripe } from "../helpers/fake-stripe";
import { call } from "../helpers/http";
import { startMailbox } from "../helpers/mailbox";
import { insertUser, signIn } from "../helpers/users";

// A real SMTP server that keeps what it receives.
const mailbox = await startMailbox();
const received = mailbox.received;
process.env.SMTP_URL = mailbox.url;
const WEBHOOK_SECRET = "whsec_test_tollgate_org_keys_0123456789";
const fakeStripe: FakeStripe = await startFakeStripe();
process.env.STRIPE_SECRET_KEY = "sk_test_tollgate_fake";
process.env.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET;
process.env.STRIPE_API_URL = fakeStripe.url;
const { sql } = await createTestDatabase();
const stripe = new Stripe("sk_test_unused");
afterAll(async () => {
  await fakeStripe.close();
  await mailbox.close();
});

const orgKeysRoute = () => import("@/app/api/v1/orgs/[org]/keys/route");
const keyRoute = () => import("@/app/api/v1/keys/[id]/route");
const myKeysRoute = () => import("@/app/api/v1/me/keys/route");
const myRequestsRoute = () => import("@/app/api/v1/me/requests/route");
const myExportRoute = () => import("@/app/api/v1/me/requests/export/route");
const myAnalyticsRoute = () => import("@/app/api/v1/me/analytics/usage/route");
const requestsRoute = () => import("@/app/api/v1/requests/route");
const exportRoute = () => import("@/app/api/v1/requests/export/route");
const keyApiRoute = () => import("@/app/api/v1/key/route");
const keyUsageRoute = () => import("@/app/api/v1/key/usage/route");
const gatewayAuthRoute = () => import("@/app/api/internal/gateway/auth/route");

type Person = { id: string; email: string; cookie: string };
let adminId: string;
let adminCookie: string;
/** Acme's owner, an admin, a member, a billing member; an outsider who owns an organization of their own. */
let owner: Person;
let orgAdmin: Person;
let member: Person;
let billing: Person;
let outsider: Person;
let acme: { id: string; slug: string; accountId: string };

async function person(label: string): Promise<Person> {
  const email = `${label}-${randomBytes(4).toString("hex")}@example.com`;
  const id = await insertUser(sql, { email });
  return { id, email, cookie: await signIn(email) };
}

/** An organization (its row, its team account, its members) as the organizations API leaves it. */
async function organization(name: string, members: [Person, string][]) {
  const slug = `${name.toLowerCase()}-${randomBytes(3).toString("hex")}`;
  const [org] = await sql<{ id: string }[]>`
    insert into organizations (name, slug, created_by) values (${name}, ${slug}, ${members[0]![0].id}) returning id`;
  const [account] = await sql<{ id: string }[]>`
    insert into accounts (kind, organization_id) values ('team', ${org!.id}) returning id`;
  for (const [who, role] of members) {
    await sql`insert into organization_members (organization_id, user_id, role) values (${org!.id}, ${who.id}, ${role})`;
  }
  return { id: org!.id, slug, accountId: account!.id };
}

const balanceOf = async (accountId: string) =>
  (await sql<{ b: bigint }[]>`select balance_micros as b from accounts where id = ${accountId}`)[0]!.b;

async function createOrgKey(who: Person, slug: string, body: Record<string, unknown> = {}) {
  return call((await orgKeysRoute()).POST, {
    cookie: who.cookie,
    params: { org: slug },
    body: { name: `${who.email} key`, ...body },
  });
}

/** The key's secret is shown once: the tests keep it to call as an app. */
async function orgKey(who: Person, slug = acme.slug, body: Record<string, unknown> = {}) {
  const res = await createOrgKey(who, slug, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { key: { id: string; accountId: string; userId: string }; secret: string };
}

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  adminCookie = await signIn("admin@example.com");
  await seedPricedModel(sql);
  owner = await person("owner");
  orgAdmin = await person("orgadmin");
  member = await person("member");
  billing = await person("billing");
  outsider = await person("outsider");
  acme = await organization("Acme", [
    [owner, "owner"],
    [orgAdmin, "admin"],
    [member, "member"],
    [billing, "billing"],
  ]);
  await organization("Other", [[outsider, "owner"]]);
  await topUp(sql, adminId, acme.accountId, 50_000_000n);
});

describe("organization keys", () => {
  it("a member's key spends the organization's account and its calls are the member's", async () => {
    const { key, secret } = await orgKey(member);
    expect(key).toMatchObject({
      accountId: acme.accountId,
      userId: member.id,
      organizationSlug: acme.slug,
      organizationName: "Acme",
    });
    const verdict = await call((await gatewayAuthRoute()).POST, {
      headers: { authorization: `Bearer ${process.env.GATEWAY_SECRET}` },
      body: { key: secret },
    });
    expect(verdict.body).toMatchObject({ valid: true, key: { id: key.id, userId: member.id } });
    const personal = await accountOf(sql, member.id);
    const before = await balanceOf(acme.accountId);
    const callId = randomUUID();
    await settleUsage(sql, [event(key.id, callId)]); // 100 in, 50 out: 125 micro-USD
    expect(await balanceOf(acme.accountId)).toBe(before - 125n);
    expect((await accountOf(sql, member.id)).balance_micros).toBe(personal.balance_micros);
    // The row is the organization's (marked for its account index: docs/adr/0040); its user is its key's.
    const [row] = await sql`
      select k.user_id, e.account_id, e.org, e.revenue_micros
      from usage_events e join api_keys k on k.id = e.key_id where e.call_id = ${callId}`;
    expect(row).toEqual({ user_id: member.id, account_id: acme.accountId, org: true, revenue_micros: 125n });
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("a billing member cannot make keys (403), an outsider learns nothing (404), and nothing is written", async () => {
    const [before] = await sql<{ n: number }[]>`select count(*)::int as n from api_keys`;
    expect((await createOrgKey(billing, acme.slug)).status).toBe(403);
    expect((await createOrgKey(outsider, acme.slug)).status).toBe(404);
    expect((await createOrgKey(member, "no-such-org")).status).toBe(404);
    // A key spends as the member it names: nobody but a platform admin makes one in another member's name, and
    // then only for a member who uses keys.
    expect((await createOrgKey(member, acme.slug, { userId: owner.id })).status).toBe(403);
    expect((await createOrgKey(orgAdmin, acme.slug, { userId: member.id })).status).toBe(403);
    expect((await createOrgKey(owner, acme.slug, { userId: member.id })).status).toBe(403);
    const platformAdmin = { ...owner, cookie: adminCookie };
    expect((await createOrgKey(platformAdmin, acme.slug, { userId: billing.id })).status).toBe(409);
    const [after] = await sql<{ n: number }[]>`select count(*)::int as n from api_keys`;
    expect(after!.n).toBe(before!.n);
    const issued = await orgKey(platformAdmin, acme.slug, { userId: member.id });
    expect(issued.key.userId).toBe(member.id);
  });

  it("owners and admins see and manage every member's key; a member their own; a removed member none", async () => {
    const carla = await person("carla");
    await sql`insert into organization_members (organization_id, user_id, role) values (${acme.id}, ${carla.id}, 'member')`;
    const carlas = await orgKey(carla);
    const owners = await orgKey(owner);
    const list = async (who: Person) =>
      (await call((await orgKeysRoute()).GET, { cookie: who.cookie, params: { org: acme.slug } })).body
        .items as {
        id: string;
        ownerEmail: string;
      }[];
    const adminView = await list(orgAdmin);
    expect(adminView.map((k) => k.id)).toEqual(expect.arrayContaining([carlas.key.id, owners.key.id]));
    expect(adminView.find((k) => k.id === carlas.key.id)!.ownerEmail).toBe(carla.email);
    const carlaView = await list(carla);
    expect(carlaView.map((k) => k.id)).toEqual([carlas.key.id]);
    // "My keys" is one's own account's, unless asked for an organization's.
    const mine = await call((await myKeysRoute()).GET, { cookie: carla.cookie });
    expect(mine.body.items).toEqual([]);
    const mineInAcme = await call((await myKeysRoute()).GET, {
      cookie: carla.cookie,
      path: `/api/v1/me/keys?org=${acme.slug}`,
    });
    expect(mineInAcme.body.items.map((k: { id: string }) => k.id)).toEqual([carlas.key.id]);

    const { GET, PATCH } = await keyRoute();
    const patch = (who: Person, id: string, body: Record<string, unknown>) =>
      call(PATCH, { method: "PATCH", cookie: who.cookie, params: { id }, body });
    expect((await patch(orgAdmin, carlas.key.id, { dailyBudgetMicros: 400_000 })).status).toBe(200);
    expect((await patch(member, carlas.key.id, { name: "taken" })).status).toBe(404);
    expect((await patch(billing, carlas.key.id, { name: "taken" })).status).toBe(404);
    expect((await patch(outsider, carlas.key.id, { name: "taken" })).status).toBe(404);
    expect((await patch(carla, carlas.key.id, { name: "carla's" })).status).toBe(200);
    // A rotation hands out a new secret: an admin rotates no one else's key (403); the owner rotates their own, and
    // the new one stays the organization's, attributed to the owner.
    const rotate = async (who: Person, id: string) =>
      call((await import("@/app/api/v1/keys/[id]/rotate/route")).POST, {
        cookie: who.cookie,
        params: { id },
      });
    expect((await rotate(orgAdmin, owners.key.id)).status).toBe(403);
    expect((await rotate(orgAdmin, carlas.key.id)).status).toBe(403);
    const rotated = await rotate(owner, owners.key.id);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(201);
    expect(rotated.body.key).toMatchObject({
      accountId: acme.accountId,
      userId: owner.id,
      rotatedFrom: owners.key.id,
    });
    // An admin revokes a member's key; the owner's key is the owner's to revoke (403 to an admin).
    const revoke = async (who: Person, id: string) =>
      call((await keyRoute()).DELETE, { method: "DELETE", cookie: who.cookie, params: { id } });
    expect((await revoke(orgAdmin, rotated.body.key.id)).status).toBe(403);
    expect((await revoke(owner, rotated.body.key.id)).body.key).toMatchObject({ status: "revoked" });
    // Removed from the organization, Carla is nobody to its keys, even her own.
    await sql`delete from organization_members where organization_id = ${acme.id} and user_id = ${carla.id}`;
    expect((await call(GET, { cookie: carla.cookie, params: { id: carlas.key.id } })).status).toBe(404);
    expect((await patch(carla, carlas.key.id, { name: "mine still?" })).status).toBe(404);
    expect(
      (await call((await orgKeysRoute()).GET, { cookie: carla.cookie, params: { org: acme.slug } })).status,
    ).toBe(404);
    const [row] = await sql`select name, daily_budget_micros from api_keys where id = ${carlas.key.id}`;
    expect(row).toEqual({ name: "carla's", daily_budget_micros: 400_000n });
  });

  it("the playground has a key per account: the organization's (not for billing) beside the person's own", async () => {
    const actor = { userId: member.id, kind: "user" as const, role: "developer" as const };
    const inAcme = await playgroundKeyFor(sql, actor, acme.slug);
    const again = await playgroundKeyFor(sql, actor, acme.id);
    const own = await playgroundKeyFor(sql, actor);
    expect(again.id).toBe(inAcme.id);
    expect(own.id).not.toBe(inAcme.id);
    const rows = await sql<{ id: string; account_id: string }[]>`
      select id, account_id from api_keys where purpose = 'playground' and user_id = ${member.id} order by created_at`;
    expect(rows).toEqual([
      { id: inAcme.id, account_id: acme.accountId },
      { id: own.id, account_id: (await accountOf(sql, member.id)).id },
    ]);
    const [stored] =
      await sql`select 1 from api_keys where id = ${inAcme.id} and key_hash = ${hashKey(inAcme.secret, config().KEY_PEPPER)}`;
    expect(stored).toBeTruthy();
    await expect(
      playgroundKeyFor(sql, { userId: billing.id, kind: "user", role: "developer" }, acme.slug),
    ).rejects.toMatchObject({ code: "forbidden" });
  });
});

describe("attribution", () => {
  let memberCall: string;
  let ownerCall: string;

  beforeAll(async () => {
    const memberKey = await orgKey(member);
    const ownerKey = await orgKey(owner);
    memberCall = randomUUID();
    ownerCall = randomUUID();
    await settleUsage(sql, [
      event(memberKey.key.id, memberCall, { promptTokens: 1000 }), // 575 micro-USD
      event(ownerKey.key.id, ownerCall, { promptTokens: 2000 }), // 1075 micro-USD
    ]);
  });

  const log = async (route: typeof myRequestsRoute, who: Person, query = "") =>
    call((await route()).GET, { cookie: who.cookie, path: `/api/v1/requests?${query}` });

  it("the request log names each call's key, member and organization; owners and billing see every member's", async () => {
    for (const who of [owner, billing]) {
      const res = await log(myRequestsRoute, who, `org=${acme.slug}`);
      expect(res.status).toBe(200);
      const byCall = new Map(res.body.items.map((r: { callId: string }) => [r.callId, r]));
      expect(byCall.get(memberCall)).toMatchObject({
        userEmail: member.email,
        organizationName: "Acme",
        organizationSlug: acme.slug,
        revenueMicros: 575,
      });
      expect(byCall.get(ownerCall)).toMatchObject({ userEmail: owner.email, revenueMicros: 1075 });
      expect(byCall.get(memberCall)).not.toHaveProperty("costMicros");
    }
  });

  it("a plain member sees only their own calls in the organization, and none of it in their personal view", async () => {
    const inAcme = await log(myRequestsRoute, member, `org=${acme.slug}`);
    const ids = inAcme.body.items.map((r: { callId: string }) => r.callId);
    expect(ids).toContain(memberCall);
    expect(ids).not.toContain(ownerCall);
    expect(inAcme.body.items.every((r: { userId: string }) => r.userId === member.id)).toBe(true);
    const personal = await log(myRequestsRoute, member);
    expect(personal.body.items).toEqual([]);
    expect((await log(myRequestsRoute, outsider, `org=${acme.slug}`)).status).toBe(404);
  });

  it("the CSV export carries the member and the organization, admins filter by organization", async () => {
    const csv = await call((await myExportRoute()).GET, {
      cookie: owner.cookie,
      path: `/api/v1/me/requests/export?org=${acme.slug}`,
    });
    expect(csv.status).toBe(200);
    const [header, ...lines] = (csv.body as string).trim().split("\r\n");
    const cols = header!.split(",");
    expect(cols).not.toContain("cost_usd");
    const rows = lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [cols[i], v])));
    expect(rows.find((r) => r.call_id === memberCall)).toMatchObject({
      user_email: member.email,
      organization: "Acme",
      organization_slug: acme.slug,
      revenue_usd: "0.000575",
    });
    expect(
      (
        await call((await myExportRoute()).GET, {
          cookie: outsider.cookie,
          path: `/api/v1/me/requests/export?org=${acme.slug}`,
        })
      ).status,
    ).toBe(404);

    const admin = { ...owner, cookie: adminCookie };
    const filtered = await log(requestsRoute, admin, `org=${acme.slug}`);
    const ids = filtered.body.items.map((r: { callId: string }) => r.callId);
    expect(ids).toEqual(expect.arrayContaining([memberCall, ownerCall]));
    expect(
      filtered.body.items.every((r: { organizationSlug: string }) => r.organizationSlug === acme.slug),
    ).toBe(true);
    const adminCsv = await call((await exportRoute()).GET, {
      cookie: adminCookie,
      path: `/api/v1/requests/export?org=${acme.slug}`,
    });
    const [adminHeader, ...adminLines] = (adminCsv.body as string).trim().split("\r\n");
    const adminCols = adminHeader!.split(",");
    expect(adminCols).toContain("cost_usd");
    const ownerRow = adminLines
      .map((l) => l.split(","))
      .find((c) => c[adminCols.indexOf("call_id")] === ownerCall)!;
    expect(ownerRow[adminCols.indexOf("user_email")]).toBe(owner.email);
    expect(ownerRow[adminCols.indexOf("organization")]).toBe("Acme");
  });

  it("analytics by member split the organization's spend by the user who made each call", async () => {
    const res = await call((await myAnalyticsRoute()).GET, {
      cookie: owner.cookie,
      path: `/api/v1/me/analytics/usage?org=${acme.slug}&by=user`,
    });
    expect(res.status).toBe(200);
    const byUser = Object.fromEntries(
      res.body.breakdown.map((r: { label: string; revenueMicros: number }) => [r.label, r.revenueMicros]),
    );
    const [spent] = await sql<{ m: bigint; o: bigint }[]>`
      select sum(e.revenue_micros) filter (where k.user_id = ${member.id})::bigint as m,
             sum(e.revenue_micros) filter (where k.user_id = ${owner.id})::bigint as o
      from usage_events e join api_keys k on k.id = e.key_id where e.account_id = ${acme.accountId}`;
    expect(byUser[member.email]).toBe(Number(spent!.m));
    expect(byUser[owner.email]).toBe(Number(spent!.o));
    expect(res.body.totals.revenueMicros).toBe(Number(spent!.m + spent!.o));
    const memberView = await call((await myAnalyticsRoute()).GET, {
      cookie: member.cookie,
      path: `/api/v1/me/analytics/usage?org=${acme.slug}&by=user`,
    });
    expect(memberView.body.breakdown.map((r: { label: string }) => r.label)).toEqual([member.email]);
  });
});

describe("the key API of an organization's key", () => {
  const keyApi = async (secret: string) => {
    const res = await call((await keyApiRoute()).GET, { headers: { authorization: `Bearer ${secret}` } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  it("answers a plain member's key with its own room and the member's caps, not the organization's balance", async () => {
    await clearOfMidnight(sql, 30);
    await sql`update organization_members set daily_cap_micros = 500000
              where organization_id = ${acme.id} and user_id = ${member.id}`;
    const { key, secret } = await orgKey(member);
    await sql`update api_keys set daily_budget_micros = 300000 where id = ${key.id}`;
    await settleUsage(sql, [event(key.id, randomUUID())]); // 125 micro-USD
    const [windows] = await sql<{ used: bigint }[]>`
      select window_used(day_used_micros, budget_day, now(), 'day') as used from organization_members
      where organization_id = ${acme.id} and user_id = ${member.id}`;
    const body = await keyApi(secret);
    expect(body.account).toBeNull();
    expect(JSON.stringify(body)).not.toContain(String(await balanceOf(acme.accountId)));
    expect(body.organization).toMatchObject({
      slug: acme.slug,
      name: "Acme",
      balanceVisible: false,
      member: {
        role: "member",
        dailyCapMicros: 500_000,
        todaySpentMicros: Number(windows!.used),
        roomMicros: 500_000 - Number(windows!.used),
      },
    });
    // The key's own budget is the tighter level: 300,000 less its 125.
    expect(body.key).toMatchObject({
      dailyBudgetMicros: 300_000,
      todaySpentMicros: 125,
      roomMicros: 299_875,
    });
    const usage = await call((await keyUsageRoute()).GET, { headers: { authorization: `Bearer ${secret}` } });
    expect(usage.body.totals).toMatchObject({ calls: 1, chargedMicros: 125 });
  });

  it("answers an owner's key with the organization's balance", async () => {
    const { secret } = await orgKey(owner);
    const body = await keyApi(secret);
    expect(body.organization).toMatchObject({
      balanceVisible: true,
      member: { role: "owner", roomMicros: null },
    });
    expect(body.account.balanceMicros).toBe(Number(await balanceOf(acme.accountId)));
  });
});

describe("money in for an organization", () => {
  /** A Stripe event, signed with the library's helper, delivered to the real webhook route. */
  async function deliver(type: string, object: Record<string, unknown>) {
    const payload = JSON.stringify({
      id: `evt_${randomBytes(8).toString("hex")}`,
      object: "event",
      type,
      api_version: "2025-01-01",
      created: 1,
      data: { object },
    });
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const { POST } = await import("@/app/api/webhooks/stripe/route");
    return call(POST, { raw: payload, headers: { "stripe-signature": header }, origin: null });
  }

  const checkout = async (who: Person) =>
    call((await import("@/app/api/v1/orgs/[org]/checkout/route")).POST, {
      cookie: who.cookie,
      params: { org: acme.slug },
      body: { amountMicros: "10000000" },
    });

  const redeem = async (who: Person, code: string) =>
    call((await import("@/app/api/v1/orgs/[org]/redeem/route")).POST, {
      cookie: who.cookie,
      params: { org: acme.slug },
      body: { code },
    });

  async function codes(count: number) {
    const res = await call((await import("@/app/api/v1/redemption-batches/route")).POST, {
      cookie: adminCookie,
      body: { amountMicros: "2500000", count, note: "org" },
    });
    expect(res.status).toBe(201);
    return res.body.codes as string[];
  }

  /** The ledger transactions crediting an account, with their entries' sum (0 when balanced). */
  const credits = (accountId: string) => sql<{ kind: string; amount: bigint; sum: bigint }[]>`
    select t.kind, e.amount_micros as amount,
           (select sum(x.amount_micros) from ledger_entries x where x.transaction_id = t.id)::bigint as sum
    from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
    where e.account_id = ${accountId} and t.kind in ('topup', 'redemption', 'grant')
    order by e.id`;

  it("a card top-up by a billing member credits the organization's account once, in a balanced transaction", async () => {
    expect((await checkout(member)).status).toBe(403);
    expect((await checkout(outsider)).status).toBe(404);
    const opened = await checkout(billing);
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const session = fakeStripe.sessions.at(-1)!;
    expect(session.form.get("metadata[accountId]")).toBe(acme.accountId);
    expect(session.form.get("customer_email")).toBe(billing.email);
    expect(session.form.get("success_url")).toMatch(
      new RegExp(`/orgs/${acme.slug}/billing\\?payment=success$`),
    );
    const before = await balanceOf(acme.accountId);
    const memberBefore = (await accountOf(sql, billing.id)).balance_micros;
    const completed = {
      id: session.id,
      object: "checkout.session",
      payment_status: "paid",
      amount_total: 1000,
      currency: "usd",
      payment_intent: `pi_${randomBytes(6).toString("hex")}`,
      metadata: {},
    };
    expect((await deliver("checkout.session.completed", completed)).status).toBe(200);
    expect((await deliver("checkout.session.completed", completed)).status).toBe(200);
    expect(await balanceOf(acme.accountId)).toBe(before + 10_000_000n);
    expect((await accountOf(sql, billing.id)).balance_micros).toBe(memberBefore);
    const [payment] =
      await sql`select account_id, user_id, status from payments where stripe_session_id = ${session.id}`;
    expect(payment).toEqual({ account_id: acme.accountId, user_id: billing.id, status: "paid" });
    expect((await credits(acme.accountId)).filter((c) => c.kind === "topup").at(-1)).toEqual({
      kind: "topup",
      amount: 10_000_000n,
      sum: 0n,
    });
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("a redemption code redeemed by an owner or billing member credits the organization; a member may not", async () => {
    const [first, second] = await codes(2);
    const before = await balanceOf(acme.accountId);
    expect((await redeem(member, first!)).status).toBe(403);
    expect((await redeem(outsider, first!)).status).toBe(404);
    const res = await redeem(billing, first!);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ creditedMicros: 2_500_000, account: { id: acme.accountId } });
    expect((await redeem(owner, second!)).status).toBe(200);
    expect(await balanceOf(acme.accountId)).toBe(before + 5_000_000n);
    const redemptions = (await credits(acme.accountId)).filter((c) => c.kind === "redemption");
    expect(redemptions).toEqual([
      { kind: "redemption", amount: 2_500_000n, sum: 0n },
      { kind: "redemption", amount: 2_500_000n, sum: 0n },
    ]);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("an admin credit lands on the organization's account, which the accounts list names by the organization", async () => {
    const before = await balanceOf(acme.accountId);
    const res = await call((await import("@/app/api/v1/accounts/[id]/credits/route")).POST, {
      cookie: adminCookie,
      params: { id: acme.accountId },
      body: { amountMicros: "3000000", kind: "grant", reason: "launch credit", idempotencyKey: randomUUID() },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.account).toMatchObject({
      id: acme.accountId,
      organizationName: "Acme",
      ownerEmail: null,
    });
    expect(await balanceOf(acme.accountId)).toBe(before + 3_000_000n);
    expect((await credits(acme.accountId)).filter((c) => c.kind === "grant")).toEqual([
      { kind: "grant", amount: 3_000_000n, sum: 0n },
    ]);
    const list = await call((await import("@/app/api/v1/accounts/route")).GET, {
      cookie: adminCookie,
      path: "/api/v1/accounts?q=acme",
    });
    expect(list.body.items).toEqual([
      expect.objectContaining({ id: acme.accountId, organizationName: "Acme", organizationSlug: acme.slug }),
    ]);
  });

  it("money into an organization whose seat fees are due enqueues their retry in the same transaction", async () => {
    const seatsDue = await organization("Seaty", [[owner, "owner"]]);
    await sql`update accounts set seats_due_micros = 1000000 where id = ${seatsDue.accountId}`;
    await topUp(sql, adminId, seatsDue.accountId, 2_000_000n);
    const [code] = await codes(1);
    const res = await call((await import("@/app/api/v1/orgs/[org]/redeem/route")).POST, {
      cookie: owner.cookie,
      params: { org: seatsDue.slug },
      body: { code },
    });
    expect(res.status).toBe(200);
    const jobs = await sql<{ name: string }[]>`
      select name from queue_jobs where payload->>'accountId' = ${seatsDue.accountId} and name = 'org.seats.retry'`;
    expect(jobs).toHaveLength(2);
    // Acme owes nothing: its credits enqueued none.
    expect(
      await sql`select 1 from queue_jobs where payload->>'accountId' = ${acme.accountId} and name = 'org.seats.retry'`,
    ).toEqual([]);
  });
});

describe("low-balance notices of an organization", () => {
  it("mail each owner and billing member once, never its admins or members", async () => {
    const lean = await organization("Lean", [
      [owner, "owner"],
      [orgAdmin, "admin"],
      [member, "member"],
      [billing, "billing"],
    ]);
    await sql`update accounts set low_balance_micros = 1000000 where id = ${lean.accountId}`;
    await topUp(sql, adminId, lean.accountId, 1_100_000n);
    const { key } = await orgKey(member, lean.slug);
    // 400,000 prompt tokens at $0.50 per million: $0.20, leaving $0.90 (below $1.00).
    await settleUsage(sql, [event(key.id, randomUUID(), { promptTokens: 400_000, completionTokens: 0 })]);
    received.length = 0;
    await drain(sql, { budgetMs: 5_000, replay: async () => [], policy: "release", graceMinutes: 60 });
    expect(received.map((m) => m.to).sort()).toEqual([owner.email, billing.email].sort());
    expect(received[0]!.subject).toBe("Lean's Tollgate balance is low: $0.900000 left");
    const rows = await sql<{ recipient: string; status: string }[]>`
      select recipient, status from notifications where account_id = ${lean.accountId} order by recipient`;
    expect(rows).toEqual(
      [owner.email, billing.email].sort().map((recipient) => ({ recipient, status: "sent" })),
    );
  });
});
