// Organizations against an outside attacker (issue 25's review), on real PostgreSQL through the routes: an admin of an
// organization neither mints keys in another member's name nor rotates one (a new secret spends as its maker), nor
// changes or revokes the owner's or another admin's keys; the invitation sign-up throttle has no shared bucket for
// clients whose address is unknown; an organization starts on its owner's plan; a suspended organization takes no
// members, and its reinstatement charges the month's seats its suspension skipped; a plain member's call detail leaves
// out the organization's batch entry; no slug is shaped like an id; and a developer's organizations, an
// organization's pending invitations and its invitations per hour are limited.
import { randomBytes, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { settleUsage } from "@/lib/billing/settle";
import { createInvitation } from "@/lib/orgs/invitations";
import { ORG_INVITE_EMAIL_JOB, ORG_SEAT_JOIN_JOB, ORG_SEATS_MONTH_JOB } from "@/lib/orgs/jobs";
import { chargeJoiningSeat, chargeSeatsForMonth } from "@/lib/orgs/seats";
import { drain } from "@/lib/settlement/drain";
import { event, seedPricedModel, topUp } from "../helpers/billing";
import { clearOfMidnight, simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { type CallOptions, call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

// As deployed off Vercel with no proxy configured: every client's address is unknown.
process.env.TRUSTED_PROXY = "none";
process.env.LOGIN_MAX_ATTEMPTS_PER_IP = "5";
process.env.LOGIN_MAX_ATTEMPTS_PER_EMAIL = "3";
const { sql } = await createTestDatabase();

const orgsRoute = () => import("@/app/api/v1/orgs/route");
const orgRoute = () => import("@/app/api/v1/orgs/[org]/route");
const memberRoute = () => import("@/app/api/v1/orgs/[org]/members/[userId]/route");
const transferRoute = () => import("@/app/api/v1/orgs/[org]/transfer/route");
const invitationsRoute = () => import("@/app/api/v1/orgs/[org]/invitations/route");
const invitationRoute = () => import("@/app/api/v1/orgs/[org]/invitations/[id]/route");
const acceptRoute = () => import("@/app/api/v1/invitations/[token]/accept/route");
const signupRoute = () => import("@/app/api/auth/invitations/[token]/signup/route");
const orgKeysRoute = () => import("@/app/api/v1/orgs/[org]/keys/route");
const keyRoute = () => import("@/app/api/v1/keys/[id]/route");
const rotateRoute = () => import("@/app/api/v1/keys/[id]/rotate/route");
const myRequestRoute = () => import("@/app/api/v1/me/requests/[id]/route");
const gatewayAuthRoute = () => import("@/app/api/internal/gateway/auth/route");

type Person = { id: string; email: string; cookie: string };
type Handlers = Record<string, unknown>;
type Org = { id: string; slug: string; name: string; account: { id: string } };
const STRONG = "a-long-enough-password";

let adminId: string;
let admin: Person;

async function person(label: string): Promise<Person> {
  const email = `${label}-${randomBytes(4).toString("hex")}@example.com`;
  const id = await insertUser(sql, { email });
  return { id, email, cookie: await signIn(email) };
}

async function as(
  who: Person | undefined,
  route: () => Promise<Handlers>,
  method: "GET" | "POST" | "PATCH" | "DELETE",
  options: CallOptions = {},
) {
  return call((await route())[method] as Parameters<typeof call>[0], {
    method,
    cookie: who?.cookie,
    ...options,
  });
}

/** A new organization owned by `who`, through the route. */
async function newOrg(who: Person, body: Record<string, unknown> = {}): Promise<Org> {
  const res = await as(who, orgsRoute, "POST", {
    body: { name: `Org ${randomUUID().slice(0, 8)}`, ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.organization;
}

async function addMember(org: Org, who: Person, role: string) {
  await sql`insert into organization_members (organization_id, user_id, role) values (${org.id}, ${who.id}, ${role})`;
}

/** An organization key made through the route by `who` (the secret is shown once). */
async function orgKey(who: Person, org: Org, body: Record<string, unknown> = {}) {
  const res = await as(who, orgKeysRoute, "POST", {
    params: { org: org.slug },
    body: { name: `${who.email} key`, ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { key: { id: string; userId: string; accountId: string }; secret: string };
}

async function invite(who: Person, org: Org, email: string) {
  const res = await as(who, invitationsRoute, "POST", { params: { org: org.slug }, body: { email } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const [job] = await sql<{ payload: { token: string } }[]>`
    select payload from queue_jobs
    where name = ${ORG_INVITE_EMAIL_JOB} and payload->>'invitationId' = ${res.body.invitation.id}`;
  return { id: res.body.invitation.id as string, token: job!.payload.token };
}

/** Sign-up by invitation from a client whose address is unknown (no trusted proxy). */
const signup = (token: string, name = "Someone") =>
  as(undefined, signupRoute, "POST", { params: { token }, body: { name, password: STRONG } });

const keyRow = async (id: string) =>
  (await sql`select user_id, status, name, daily_budget_micros from api_keys where id = ${id}`)[0];

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  admin = { id: adminId, email: "admin@example.com", cookie: await signIn("admin@example.com") };
  await seedPricedModel(sql);
  await seedPricedModel(sql, "fake-large");
});

describe("an organization's keys are made and rotated by the member they spend as", () => {
  let owner: Person;
  let capped: Person;
  let otherAdmin: Person;
  let member: Person;
  let org: Org;

  beforeAll(async () => {
    owner = await person("owner");
    capped = await person("capped-admin");
    otherAdmin = await person("other-admin");
    member = await person("member");
    org = await newOrg(owner);
    await addMember(org, capped, "admin");
    await addMember(org, otherAdmin, "admin");
    await addMember(org, member, "member");
    await topUp(sql, adminId, org.account.id, 10_000_000n);
  });

  it("an admin capped by the owner cannot make a key in the owner's (uncapped) name: 403, nothing written", async () => {
    const capRes = await as(owner, memberRoute, "PATCH", {
      params: { org: org.slug, userId: capped.id },
      body: { dailyCapMicros: 1000 },
    });
    expect(capRes.status, JSON.stringify(capRes.body)).toBe(200);
    const before = await sql`select id from api_keys order by id`;
    for (const victim of [owner, otherAdmin, member]) {
      const res = await as(capped, orgKeysRoute, "POST", {
        params: { org: org.slug },
        body: { name: "x", userId: victim.id },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(403);
      expect(res.body.error.message).toContain("made by the member it spends as");
      expect(res.body).not.toHaveProperty("secret");
    }
    // The owner cannot make one in a member's name either.
    const byOwner = await as(owner, orgKeysRoute, "POST", {
      params: { org: org.slug },
      body: { name: "x", userId: member.id },
    });
    expect(byOwner.status).toBe(403);
    expect(await sql`select id from api_keys order by id`).toEqual(before);
    // Their own key is theirs, within their own cap; a platform admin may still make one for a member.
    const own = await orgKey(capped, org);
    expect(own.key.userId).toBe(capped.id);
    const forMember = await orgKey(admin, org, { userId: member.id });
    expect(forMember.key).toMatchObject({ userId: member.id, accountId: org.account.id });
    const verdict = await call((await gatewayAuthRoute()).POST, {
      headers: { authorization: `Bearer ${process.env.GATEWAY_SECRET}` },
      body: { key: forMember.secret },
    });
    expect(verdict.body).toMatchObject({ valid: true, key: { userId: member.id } });
  });

  it("a key is rotated by its maker only (or a platform admin): an admin's rotation of another's key is 403", async () => {
    const ownersKey = await orgKey(owner, org);
    const membersKey = await orgKey(member, org);
    for (const target of [ownersKey, membersKey]) {
      const refused = await as(capped, rotateRoute, "POST", { params: { id: target.key.id } });
      expect(refused.status, JSON.stringify(refused.body)).toBe(403);
      expect(refused.body).not.toHaveProperty("secret");
      expect(await keyRow(target.key.id)).toMatchObject({ status: "active" });
    }
    expect(
      await sql`select 1 from api_keys where rotated_from in ${sql([ownersKey.key.id, membersKey.key.id])}`,
    ).toEqual([]);
    // The owner rotating a member's key is refused too: the new secret would spend as the member.
    expect((await as(owner, rotateRoute, "POST", { params: { id: membersKey.key.id } })).status).toBe(403);
    const byMaker = await as(member, rotateRoute, "POST", { params: { id: membersKey.key.id } });
    expect(byMaker.status, JSON.stringify(byMaker.body)).toBe(201);
    expect(byMaker.body.key).toMatchObject({ userId: member.id, rotatedFrom: membersKey.key.id });
    const byPlatform = await as(admin, rotateRoute, "POST", { params: { id: ownersKey.key.id } });
    expect(byPlatform.status, JSON.stringify(byPlatform.body)).toBe(201);
    expect(byPlatform.body.key).toMatchObject({ userId: owner.id, accountId: org.account.id });
  });

  it("the owner's and admins' keys are changed and revoked by the owner (or their maker), not by another admin", async () => {
    const ownersKey = await orgKey(owner, org);
    const adminsKey = await orgKey(otherAdmin, org);
    const membersKey = await orgKey(member, org);
    const { PATCH, DELETE, GET } = await keyRoute();
    const patch = (who: Person, id: string, body: Record<string, unknown>) =>
      call(PATCH, { method: "PATCH", cookie: who.cookie, params: { id }, body });
    const revoke = (who: Person, id: string) =>
      call(DELETE, { method: "DELETE", cookie: who.cookie, params: { id } });

    // As PATCH …/members/<other admin> is refused to an admin, so are that admin's keys (and the owner's).
    const memberPatch = await as(capped, memberRoute, "PATCH", {
      params: { org: org.slug, userId: otherAdmin.id },
      body: { dailyCapMicros: 1 },
    });
    expect(memberPatch.status).toBe(403);
    for (const target of [adminsKey, ownersKey]) {
      const changed = await patch(capped, target.key.id, { name: "hijacked", dailyBudgetMicros: 1 });
      expect(changed.status, JSON.stringify(changed.body)).toBe(403);
      expect(changed.body.error.message).toContain("Only the owner of");
      expect((await revoke(capped, target.key.id)).status).toBe(403);
      expect(await keyRow(target.key.id)).toMatchObject({ status: "active", daily_budget_micros: null });
      expect(await keyRow(target.key.id)).not.toMatchObject({ name: "hijacked" });
      // Still listed and readable: an admin sees every member's key.
      expect((await call(GET, { cookie: capped.cookie, params: { id: target.key.id } })).status).toBe(200);
    }
    const listed = await as(capped, orgKeysRoute, "GET", { params: { org: org.slug } });
    const makerRoles = new Map(
      listed.body.items.map((k: { id: string; makerRole: string }) => [k.id, k.makerRole]),
    );
    expect([ownersKey, adminsKey, membersKey].map((k) => makerRoles.get(k.key.id))).toEqual([
      "owner",
      "admin",
      "member",
    ]);

    // A member's key an admin manages: its budget set, then revoked.
    expect((await patch(capped, membersKey.key.id, { dailyBudgetMicros: 500 })).status).toBe(200);
    expect((await revoke(capped, membersKey.key.id)).status).toBe(200);
    expect(await keyRow(membersKey.key.id)).toMatchObject({ status: "revoked", daily_budget_micros: 500n });
    // The owner changes and revokes an admin's key; the admin their own.
    expect((await patch(owner, adminsKey.key.id, { dailyBudgetMicros: 700 })).status).toBe(200);
    expect((await patch(otherAdmin, adminsKey.key.id, { name: "mine" })).status).toBe(200);
    expect((await revoke(owner, adminsKey.key.id)).status).toBe(200);
    expect(await keyRow(adminsKey.key.id)).toMatchObject({
      status: "revoked",
      name: "mine",
      daily_budget_micros: 700n,
    });
  });
});

describe("sign-up by invitation behind no trusted proxy", () => {
  it("probes with made-up links from unknown clients lock nobody out; failures on one link still do (429)", async () => {
    const owner = await person("signup-owner");
    const org = await newOrg(owner);
    const { token } = await invite(owner, org, `invitee-${randomBytes(3).toString("hex")}@example.com`);
    // More failed guesses than LOGIN_MAX_ATTEMPTS_PER_IP (5 here), each from an unknown address: every one a 404.
    for (let i = 0; i < 7; i++) {
      const guess = randomBytes(32).toString("base64url");
      expect((await signup(guess)).status).toBe(404);
    }
    const res = await signup(token, "Invitee");
    expect(res.status, JSON.stringify(res.body)).toBe(201);

    // One link's failures are counted by the link (LOGIN_MAX_ATTEMPTS_PER_EMAIL: 3 here), whoever sends them.
    const existing = await person("has-account");
    const { token: taken } = await invite(owner, org, existing.email);
    for (let i = 0; i < 3; i++) expect((await signup(taken)).status).toBe(409);
    const refused = await signup(taken);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("an organization starts on its owner's plan", () => {
  it("a developer's plan that allows fake-small only holds for the keys of the organization they create", async () => {
    const [plan] = await sql<{ id: string }[]>`
      insert into plans (name, allowed_models, requests_per_day)
      values (${`small-only-${randomUUID()}`}, ${sql.array(["fake-small"])}, 50) returning id`;
    const dev = await person("planned");
    await sql`update users set plan_id = ${plan!.id} where id = ${dev.id}`;
    const org = await newOrg(dev);
    const [account] = await sql`select plan_id from accounts where id = ${org.account.id}`;
    expect(account).toEqual({ plan_id: plan!.id });
    await topUp(sql, adminId, org.account.id, 1_000_000n);
    const { key, secret } = await orgKey(dev, org);
    const [models] = await sql`select key_models(${key.id}) as models`;
    expect(models).toEqual({ models: ["fake-small"] });
    const verdict = await call((await gatewayAuthRoute()).POST, {
      headers: { authorization: `Bearer ${process.env.GATEWAY_SECRET}` },
      body: { key: secret },
    });
    expect(verdict.body).toMatchObject({ valid: true, key: { allowedModels: ["fake-small"] } });

    // Made by a platform admin for the developer: the developer's plan too. The admin may change it later.
    const res = await as(admin, orgsRoute, "POST", {
      body: { name: "For the planned", ownerEmail: dev.email },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const [forDev] = await sql`select plan_id from accounts where id = ${res.body.organization.account.id}`;
    expect(forDev).toEqual({ plan_id: plan!.id });
    const unplanned = await as(admin, orgRoute, "PATCH", {
      params: { org: org.slug },
      body: { planId: null },
    });
    expect(unplanned.status, JSON.stringify(unplanned.body)).toBe(200);
    const [widened] = await sql`select key_models(${key.id}) as models`;
    expect(widened).toEqual({ models: ["fake-large", "fake-small"] });
  });
});

describe("a suspended organization", () => {
  it("sends no invitations and takes no members (409), writing nothing", async () => {
    const owner = await person("susp-owner");
    const org = await newOrg(owner);
    const invitee = await person("susp-invitee");
    const forExisting = await invite(owner, org, invitee.email);
    const forNew = await invite(owner, org, `susp-new-${randomBytes(3).toString("hex")}@example.com`);
    const suspended = await as(admin, orgRoute, "PATCH", {
      params: { org: org.slug },
      body: { status: "suspended" },
    });
    expect(suspended.status, JSON.stringify(suspended.body)).toBe(200);
    const fingerprint = async () =>
      sql`select (select count(*) from users)::int as users,
                 (select count(*) from organization_members where organization_id = ${org.id})::int as members,
                 (select count(*) from organization_invitations where organization_id = ${org.id})::int as invitations,
                 (select count(*) from organization_invitations
                  where organization_id = ${org.id} and accepted_at is not null)::int as accepted`;
    const before = await fingerprint();

    const invited = await as(owner, invitationsRoute, "POST", {
      params: { org: org.slug },
      body: { email: "late@example.com" },
    });
    expect(invited.status).toBe(409);
    expect(invited.body.error.message).toContain("is suspended");
    const accepted = await as(invitee, acceptRoute, "POST", { params: { token: forExisting.token } });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(409);
    expect(accepted.body.error.message).toContain("is suspended");
    const signedUp = await signup(forNew.token);
    expect(signedUp.status, JSON.stringify(signedUp.body)).toBe(409);
    expect(signedUp.body.error.message).toContain("is suspended");
    expect(await fingerprint()).toEqual(before);

    // Reinstated, the same links work.
    await as(admin, orgRoute, "PATCH", { params: { org: org.slug }, body: { status: "active" } });
    expect((await as(invitee, acceptRoute, "POST", { params: { token: forExisting.token } })).status).toBe(
      201,
    );
  });

  it("reinstated, pays the month's seats its suspension skipped: the month job again, and this month's joiners", async () => {
    await clearOfMidnight(sql, 30);
    const runQueue = () =>
      drain(sql, { budgetMs: 5_000, replay: async () => [], policy: "release", graceMinutes: 60 });
    await runQueue(); // Jobs left by earlier tests.
    const [plan] = await sql<{ id: string }[]>`
      insert into plans (name, seat_price_micros) values (${`seats-${randomUUID()}`}, 3000000) returning id`;
    const owner = await person("seat-owner");
    const org = await newOrg(owner);
    await sql`update accounts set plan_id = ${plan!.id} where id = ${org.account.id}`;
    await topUp(sql, adminId, org.account.id, 50_000_000n);
    await runQueue(); // The owner's seat for this month, prorated (the organization is active).
    const month = (
      await sql<{ month: string }[]>`
      select to_char(date_trunc('month', tollgate_now() at time zone 'utc'), 'YYYY-MM-DD') as month`
    )[0]!.month;
    // A member since last month, and one who joined this month and whose join job ran while it was suspended.
    const old = await person("seat-old");
    await sql`
      insert into organization_members (organization_id, user_id, role, joined_at)
      values (${org.id}, ${old.id}, 'member', (${month}::date::timestamp at time zone 'utc') - interval '3 days')`;
    await as(admin, orgRoute, "PATCH", { params: { org: org.slug }, body: { status: "suspended" } });
    const late = await person("seat-late");
    await addMember(org, late, "member");
    expect(await chargeJoiningSeat(sql, { organizationId: org.id, userId: late.id })).toBeNull();
    // The month's run while it was suspended charges it nothing.
    await chargeSeatsForMonth(sql, { month });
    const charges = () =>
      sql<{ user_id: string; amount_micros: bigint }[]>`
        select user_id, amount_micros from seat_charges where organization_id = ${org.id} and month = ${month}::date
        order by amount_micros desc, user_id`;
    const ownerSeat = await charges();
    expect(ownerSeat.map((c) => c.user_id)).toEqual([owner.id]);

    const reinstated = await as(admin, orgRoute, "PATCH", {
      params: { org: org.slug },
      body: { status: "active" },
    });
    expect(reinstated.status, JSON.stringify(reinstated.body)).toBe(200);
    const jobs = await sql<{ name: string; payload: unknown; singleton_key: string | null }[]>`
      select name, payload, singleton_key from queue_jobs
      where state = 'created' and (name = ${ORG_SEATS_MONTH_JOB} or payload->>'organizationId' = ${org.id})
      order by name`;
    expect(jobs).toEqual([
      { name: ORG_SEAT_JOIN_JOB, payload: { organizationId: org.id, userId: late.id }, singleton_key: null },
      { name: ORG_SEATS_MONTH_JOB, payload: { month }, singleton_key: `${ORG_SEATS_MONTH_JOB}:${month}` },
    ]);
    await runQueue();
    const [seat] = await sql<{ prorated: bigint }[]>`
      select seat_prorated(3000000, (tollgate_now() at time zone 'utc')::date) as prorated`;
    const prorated = seat!.prorated;
    const after = await charges();
    expect(new Map(after.map((c) => [c.user_id, c.amount_micros]))).toEqual(
      new Map([
        [old.id, 3_000_000n],
        [owner.id, ownerSeat[0]!.amount_micros],
        [late.id, prorated],
      ]),
    );
    // Reinstating again (already active) enqueues nothing more.
    await as(admin, orgRoute, "PATCH", { params: { org: org.slug }, body: { status: "active" } });
    expect(
      await sql`select 1 from queue_jobs where state = 'created' and name in ${sql([ORG_SEATS_MONTH_JOB, ORG_SEAT_JOIN_JOB])}`,
    ).toEqual([]);
  });
});

describe("a call's detail in an organization", () => {
  it("shows a plain member their call's charge but not the organization's batch entry; owners see it", async () => {
    const owner = await person("detail-owner");
    const member = await person("detail-member");
    const other = await person("detail-other");
    const org = await newOrg(owner);
    await addMember(org, member, "member");
    await addMember(org, other, "member");
    await topUp(sql, adminId, org.account.id, 10_000_000n);
    const mine = await orgKey(member, org);
    const theirs = await orgKey(other, org);
    const myCall = randomUUID();
    // One settlement batch: both calls are charged in one ledger transaction, on one entry of the account.
    await settleUsage(sql, [
      event(mine.key.id, myCall), // 125 micro-USD
      event(theirs.key.id, randomUUID(), { promptTokens: 2000 }), // 1075 micro-USD
    ]);
    const [usage] = await sql<{ id: string }[]>`
      select id::text as id from usage_events where call_id = ${myCall}`;
    const id = usage!.id;
    const detail = async (who: Person) =>
      (await as(who, myRequestRoute, "GET", { params: { id }, path: `/api/v1/me/requests/${id}` })).body
        .request;
    const seen = await detail(member);
    expect(seen.revenueMicros).toBe(125);
    expect(seen.ledger).toEqual({ id: expect.any(String), kind: "charge", createdAt: expect.any(String) });
    expect(await detail(owner)).toMatchObject({
      revenueMicros: 125,
      ledger: { kind: "charge", accountAmountMicros: -1200, events: 2 },
    });
  });
});

describe("slugs", () => {
  it("are never shaped like an id: given 422, derived from such a name suffixed, and the table refuses one", async () => {
    const owner = await person("slug-owner");
    const a = await newOrg(owner);
    const taken = await as(owner, orgsRoute, "POST", { body: { name: "B", slug: a.id } });
    expect(taken.status).toBe(422);
    expect(JSON.stringify(taken.body.error)).toContain("shaped like an id");
    const upper = await as(owner, orgsRoute, "POST", { body: { name: "B", slug: a.id.toUpperCase() } });
    expect(upper.status).toBe(422);
    const fromName = await newOrg(owner, { name: a.id });
    expect(fromName.slug).toBe(`${a.id}-2`);
    // A link to the id opens A, the one it names.
    const opened = await as(owner, orgRoute, "GET", { params: { org: a.id } });
    expect(opened.body.organization.id).toBe(a.id);
    await expect(
      sql`insert into organizations (name, slug) values ('Direct', ${randomUUID()})`,
    ).rejects.toMatchObject({ code: "23514", constraint_name: "organizations_slug_not_uuid" });
  });
});

describe("abuse limits", () => {
  it("a developer owns at most 10 organizations (409); a platform admin may make them more, and is not limited", async () => {
    const dev = await person("factory");
    for (let i = 0; i < 10; i++) await newOrg(dev);
    const refused = await as(dev, orgsRoute, "POST", { body: { name: "Eleventh" } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain("the most a developer may own (10)");
    expect(
      (
        await sql`select count(*)::int as n from organization_members where user_id = ${dev.id} and role = 'owner'`
      )[0],
    ).toEqual({ n: 10 });
    const forDev = await as(admin, orgsRoute, "POST", { body: { name: "Eleventh", ownerEmail: dev.email } });
    expect(forDev.status, JSON.stringify(forDev.body)).toBe(201);
    // Nor is one handed over to them: a transfer to a developer at the limit is refused.
    const other = await person("hands-over");
    const org = await newOrg(other);
    await addMember(org, dev, "member");
    const transfer = await as(other, transferRoute, "POST", {
      params: { org: org.slug },
      body: { userId: dev.id },
    });
    expect(transfer.status).toBe(409);
    expect(transfer.body.error.message).toContain("owns 11 organizations already");
    // Concurrent creations by one developer count each other: of five at once from 9 owned, one is made.
    const racer = await person("racer");
    for (let i = 0; i < 9; i++) await newOrg(racer);
    const burst = await Promise.all(
      Array.from({ length: 5 }, (_, i) => as(racer, orgsRoute, "POST", { body: { name: `Burst ${i}` } })),
    );
    expect(burst.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it("an organization sends at most 20 invitations in a rolling hour (429 with Retry-After), revoked ones counted", async () => {
    const owner = await person("inviter");
    const org = await newOrg(owner);
    const first = await invite(owner, org, "first@example.com");
    const revoked = await as(owner, invitationRoute, "DELETE", { params: { org: org.slug, id: first.id } });
    expect(revoked.status).toBe(200);
    for (let i = 1; i < 20; i++) await invite(owner, org, `batch-${i}@example.com`);
    const refused = await as(owner, invitationsRoute, "POST", {
      params: { org: org.slug },
      body: { email: "twenty-first@example.com" },
    });
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toContain("20 invitations in the last hour");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(
      (
        await sql`select count(*)::int as n from organization_invitations where organization_id = ${org.id}`
      )[0],
    ).toEqual({ n: 20 });
    // A platform admin is not limited.
    expect(
      (
        await as(admin, invitationsRoute, "POST", {
          params: { org: org.slug },
          body: { email: "by-admin@example.com" },
        })
      ).status,
    ).toBe(201);
  });

  it("an organization has at most 50 pending invitations (409); an hour later it may send 20 more", async () => {
    const owner = await person("pending");
    const org = await newOrg(owner);
    const actor = { userId: owner.id, kind: "user" as const, role: "developer" as const };
    const clock = simulatedClock(sql, new Date().toISOString());
    const HOUR = 3_600_000;
    const inviteAt = (moment: string, email: string) =>
      clock.at(moment, (db) => createInvitation(db, actor, org.slug, { email, role: "member" }));
    let n = 0;
    for (const [hour, count] of [
      [0, 20],
      [1, 20],
      [2, 10],
    ] as const) {
      const moment = clock.after(hour * HOUR + 60_000);
      for (let i = 0; i < count; i++) await inviteAt(moment, `pending-${n++}@example.com`);
    }
    // 50 pending, 10 sent in the last hour: the hour allows more, the pending limit does not.
    await expect(inviteAt(clock.after(2 * HOUR + 120_000), "fifty-first@example.com")).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining("50 pending invitations"),
    });
    // One accepted (or revoked) makes room.
    await sql`
      update organization_invitations set revoked_at = now()
      where id = (select id from organization_invitations where organization_id = ${org.id} limit 1)`;
    const made = await inviteAt(clock.after(2 * HOUR + 180_000), "fifty-first@example.com");
    expect(made.state).toBe("pending");
  });
});
