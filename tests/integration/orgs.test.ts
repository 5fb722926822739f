// Organizations on real PostgreSQL, through their routes (issue 25, ADR 0016): creation with a team account and an
// owner, settings and who may change them, members with caps and what they spent, role changes, removal and leaving
// (their keys revoked and refused), ownership transfer (one owner, even under concurrent transfers), invitations
// (hashed single-use tokens: wrong email 403, used / revoked / expired 410, two concurrent accepts make one member),
// and the invitation email received by a real SMTP server (smtp-server) with a link that works once.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { settleUsage } from "@/lib/billing/settle";
import { generateKeySecret, hashKey, keyPrefix } from "@/lib/keys/secret";
import { verifyKey } from "@/lib/keys/verify";
import { acceptInvitation, getInvitation } from "@/lib/orgs/invitations";
import { ORG_INVITE_EMAIL_JOB, ORG_SEAT_JOIN_JOB } from "@/lib/orgs/jobs";
import { drain } from "@/lib/settlement/drain";
import { event, seedPricedModel, topUp } from "../helpers/billing";
import { clearOfMidnight, simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { type CallOptions, call } from "../helpers/http";
import { startMailbox } from "../helpers/mailbox";
import { insertUser, signIn } from "../helpers/users";

// A mailbox that never accepts mail ("bounce…"): its invitations fail at every attempt.
const mailbox = await startMailbox({ refuse: (address) => address.startsWith("bounce") });
const received = mailbox.received;
process.env.SMTP_URL = mailbox.url;
// Ann owns an organization per test here, more than a developer may (that limit: org-security.test.ts).
process.env.ORG_MAX_OWNED_PER_USER = "100";
const { sql } = await createTestDatabase();
const PEPPER = process.env.KEY_PEPPER!;

const orgsRoute = () => import("@/app/api/v1/orgs/route");
const orgRoute = () => import("@/app/api/v1/orgs/[org]/route");
const membersRoute = () => import("@/app/api/v1/orgs/[org]/members/route");
const memberRoute = () => import("@/app/api/v1/orgs/[org]/members/[userId]/route");
const transferRoute = () => import("@/app/api/v1/orgs/[org]/transfer/route");
const invitationsRoute = () => import("@/app/api/v1/orgs/[org]/invitations/route");
const invitationRoute = () => import("@/app/api/v1/orgs/[org]/invitations/[id]/route");
const inviteRoute = () => import("@/app/api/v1/invitations/[token]/route");
const acceptRoute = () => import("@/app/api/v1/invitations/[token]/accept/route");
const orgKeysRoute = () => import("@/app/api/v1/orgs/[org]/keys/route");
const queueRoute = () => import("@/app/api/v1/settlement/queue/route");

type Handlers = Record<string, unknown>;
const as =
  (cookie: string) =>
  async (
    route: () => Promise<Handlers>,
    method: "GET" | "POST" | "PATCH" | "DELETE",
    options: CallOptions = {},
  ) =>
    call((await route())[method] as Parameters<typeof call>[0], { method, cookie, ...options });

let adminId: string;
const ids: Record<string, string> = {};
const cookies: Record<string, string> = {};
const people = ["owner", "ann", "ben", "cat", "dan", "eve", "fay", "gus", "outsider"] as const;
type Person = (typeof people)[number];
const emailOf = (who: Person) => `${who}@example.com`;
const act = (who: Person | "admin") => as(cookies[who]!);

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  cookies.admin = await signIn("admin@example.com");
  for (const who of people) {
    ids[who] = await insertUser(sql, { email: emailOf(who) });
    cookies[who] = await signIn(emailOf(who));
  }
  await seedPricedModel(sql);
});
afterAll(() => mailbox.close());

const runQueue = () =>
  drain(sql, { budgetMs: 5_000, replay: async () => [], policy: "release", graceMinutes: 60 });

/** A new organization owned by `who`, through the route. */
async function newOrg(who: Person, name = `Org ${randomUUID().slice(0, 8)}`) {
  const res = await act(who)(orgsRoute, "POST", { body: { name } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.organization as { id: string; slug: string; account: { id: string } };
}

/** Makes `who` a member with `role` (a fixture: invitations are tested on their own below). */
async function addMember(orgId: string, who: Person, role = "member") {
  await sql`insert into organization_members (organization_id, user_id, role) values (${orgId}, ${ids[who]!}, ${role})`;
}

/** An organization key made by `who` (the secret, for the gateway's auth answer). */
async function orgKey(accountId: string, who: Person) {
  const secret = generateKeySecret();
  const [row] = await sql<{ id: string }[]>`
    insert into api_keys (user_id, account_id, name, prefix, key_hash)
    values (${ids[who]!}, ${accountId}, 'org key', ${keyPrefix(secret)}, ${hashKey(secret, PEPPER)}) returning id`;
  return { id: row!.id, secret };
}

const count = async (table: string) =>
  Number((await sql<{ n: bigint }[]>`select count(*) as n from ${sql(table)}`)[0]!.n);

describe("creating an organization", () => {
  it("makes the organization, its team account and its owner in one go, and enqueues the owner's seat", async () => {
    const res = await act("owner")(orgsRoute, "POST", { body: { name: "Acme Labs, Inc." } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const org = res.body.organization;
    expect(org).toMatchObject({
      name: "Acme Labs, Inc.",
      slug: "acme-labs-inc",
      status: "active",
      role: "owner",
      memberCount: 1,
      ownerUserId: ids.owner,
      ownerEmail: "owner@example.com",
      account: { balanceMicros: 0, heldMicros: 0, availableMicros: 0, allowedModels: [], seatsDueMicros: 0 },
    });
    const [account] =
      await sql`select kind, organization_id, owner_user_id from accounts where id = ${org.account.id}`;
    expect(account).toEqual({ kind: "team", organization_id: org.id, owner_user_id: null });
    const [audit] = await sql`select action, actor_id from audit_log where target_id = ${org.id}`;
    expect(audit).toEqual({ action: "org.create", actor_id: ids.owner });
    const jobs =
      await sql`select payload from queue_jobs where name = ${ORG_SEAT_JOIN_JOB} and payload->>'organizationId' = ${org.id}`;
    expect(jobs.map((j) => j.payload)).toEqual([{ organizationId: org.id, userId: ids.owner }]);
  });

  it("derives a free slug from the name, refuses a taken or malformed one", async () => {
    const second = await act("ann")(orgsRoute, "POST", { body: { name: "Acme Labs Inc" } });
    expect(second.body.organization.slug).toBe("acme-labs-inc-2");
    const taken = await act("ann")(orgsRoute, "POST", { body: { name: "Other", slug: "acme-labs-inc" } });
    expect(taken.status).toBe(409);
    const bad = await act("ann")(orgsRoute, "POST", { body: { name: "Other", slug: "-bad-" } });
    expect(bad.status).toBe(422);
    const odd = await act("ann")(orgsRoute, "POST", { body: { name: "¡¿!!" } });
    expect(odd.body.organization.slug).toBe("org");
  });

  it("lets a platform admin create one for a user (ownerEmail), and no one else", async () => {
    const before = await count("organizations");
    const refused = await act("ann")(orgsRoute, "POST", {
      body: { name: "For Ben", ownerEmail: "ben@example.com" },
    });
    expect(refused.status).toBe(403);
    const unknown = await act("admin")(orgsRoute, "POST", {
      body: { name: "Ghost", ownerEmail: "ghost@example.com" },
    });
    expect(unknown.status).toBe(404);
    expect(await count("organizations")).toBe(before);
    const res = await act("admin")(orgsRoute, "POST", {
      body: { name: "For Ben", ownerEmail: "BEN@example.com" },
    });
    expect(res.status).toBe(201);
    expect(res.body.organization).toMatchObject({ role: null, ownerUserId: ids.ben, memberCount: 1 });
  });
});

describe("reading organizations", () => {
  it("lists the caller's organizations with role, available balance and members; every one for admins", async () => {
    const org = await newOrg("cat", "Cat Co");
    await addMember(org.id, "dan");
    await topUp(sql, adminId, org.account.id, 7_000_000n);
    const mine = await act("dan")(orgsRoute, "GET");
    expect(mine.body.items).toEqual([
      expect.objectContaining({ slug: org.slug, role: "member", availableMicros: 7_000_000, memberCount: 2 }),
    ]);
    const all = await act("admin")(orgsRoute, "GET", { path: "/api/v1/orgs?all=1&q=cat" });
    expect(all.body.items).toEqual([
      expect.objectContaining({
        slug: org.slug,
        ownerEmail: "cat@example.com",
        memberCount: 2,
        monthChargedMicros: 0,
      }),
    ]);
    expect((await act("dan")(orgsRoute, "GET", { path: "/api/v1/orgs?all=1" })).status).toBe(403);
  });

  it("shows an organization by slug or id to its members only (404 to others)", async () => {
    const org = await newOrg("cat");
    await addMember(org.id, "dan", "billing");
    const bySlug = await act("dan")(orgRoute, "GET", { params: { org: org.slug.toUpperCase() } });
    expect(bySlug.body.organization).toMatchObject({ id: org.id, role: "billing", memberCount: 2 });
    const byId = await act("cat")(orgRoute, "GET", { params: { org: org.id } });
    expect(byId.body.organization.role).toBe("owner");
    expect((await act("outsider")(orgRoute, "GET", { params: { org: org.slug } })).status).toBe(404);
    expect((await act("outsider")(orgRoute, "GET", { params: { org: "no-such-org" } })).status).toBe(404);
    expect((await act("outsider")(orgRoute, "GET", { params: { org: "../etc" } })).status).toBe(404);
    expect((await act("admin")(orgRoute, "GET", { params: { org: org.slug } })).body.organization.role).toBe(
      null,
    );
  });
});

describe("organization settings", () => {
  it("owners and admins change name, budgets and models; billing the threshold; admins alone plan and status", async () => {
    const org = await newOrg("eve");
    await addMember(org.id, "fay", "admin");
    await addMember(org.id, "gus", "billing");
    const patch = (who: Person | "admin", body: Record<string, unknown>) =>
      act(who)(orgRoute, "PATCH", { params: { org: org.slug }, body });
    const res = await patch("fay", {
      name: "Eve Labs",
      dailyBudgetMicros: 5_000_000,
      monthlyBudgetMicros: "90000000",
      allowedModels: ["fake-small"],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.organization).toMatchObject({
      name: "Eve Labs",
      account: {
        dailyBudgetMicros: 5_000_000,
        monthlyBudgetMicros: 90_000_000,
        allowedModels: ["fake-small"],
      },
    });
    expect((await patch("fay", { allowedModels: ["no-such-model"] })).status).toBe(422);
    expect((await patch("fay", { lowBalanceMicros: 1 })).status).toBe(403);
    expect((await patch("gus", { name: "Gus's" })).status).toBe(403);
    expect((await patch("gus", { lowBalanceMicros: 2_500_000 })).body.organization.account).toMatchObject({
      lowBalanceMicros: 2_500_000,
      ownLowBalanceMicros: 2_500_000,
    });
    expect((await patch("eve", { status: "suspended" })).status).toBe(403);
    expect((await patch("eve", { dailyBudgetMicros: 1.5 })).status).toBe(422);
    const [plan] = await sql<{ id: string }[]>`insert into plans (name) values ('Team plan') returning id`;
    const admin = await patch("admin", { planId: plan!.id });
    expect(admin.body.organization.account).toMatchObject({ planId: plan!.id, planName: "Team plan" });
    const after = await sql`select action, before->>'name' as before, after->>'name' as after from audit_log
                            where target_id = ${org.id} and action = 'org.update' order by id`;
    expect(after).toHaveLength(3);
    expect(after[0]).toEqual({ action: "org.update", before: expect.any(String), after: "Eve Labs" });
  });

  it("changes the gateway's lease epoch with budgets, models, plan, caps and role; suspension refuses the keys", async () => {
    const org = await newOrg("eve");
    await addMember(org.id, "fay");
    const key = await orgKey(org.account.id, "fay");
    const epoch = async () => {
      const verdict = await verifyKey(sql, key.secret, PEPPER);
      if (!verdict.valid) return verdict.reason;
      return verdict.key.leaseEpoch;
    };
    const seen = new Set([await epoch()]);
    const changes: [Person | "admin", () => Promise<Handlers>, "PATCH", CallOptions][] = [
      ["eve", orgRoute, "PATCH", { params: { org: org.slug }, body: { dailyBudgetMicros: 1_000_000 } }],
      ["eve", orgRoute, "PATCH", { params: { org: org.slug }, body: { allowedModels: ["fake-small"] } }],
      [
        "eve",
        memberRoute,
        "PATCH",
        { params: { org: org.slug, userId: ids.fay! }, body: { monthlyCapMicros: 10 } },
      ],
      ["eve", memberRoute, "PATCH", { params: { org: org.slug, userId: ids.fay! }, body: { role: "admin" } }],
    ];
    for (const [who, route, method, options] of changes) {
      expect((await act(who)(route, method, options)).status).toBe(200);
      const next = await epoch();
      expect(seen.has(next), `epoch unchanged after ${JSON.stringify(options.body)}`).toBe(false);
      seen.add(next);
    }
    expect(
      (await act("admin")(orgRoute, "PATCH", { params: { org: org.slug }, body: { status: "suspended" } }))
        .status,
    ).toBe(200);
    expect(await epoch()).toBe("owner_suspended");
  });
});

describe("members", () => {
  it("show each member's caps, what their calls counted against them and what they were charged", async () => {
    await clearOfMidnight(sql, 30);
    const org = await newOrg("ann");
    await addMember(org.id, "ben");
    await addMember(org.id, "cat", "billing");
    await topUp(sql, adminId, org.account.id, 10_000_000n);
    const caps = await act("ann")(memberRoute, "PATCH", {
      params: { org: org.slug, userId: ids.ben! },
      body: { dailyCapMicros: 300_000, monthlyCapMicros: "2000000" },
    });
    expect(caps.body.member).toMatchObject({
      role: "member",
      dailyCapMicros: 300_000,
      monthlyCapMicros: 2_000_000,
    });
    const key = await orgKey(org.account.id, "ben");
    // A settled call of 100,000 µ$ (200,000 prompt tokens at $0.50 per million) and a hold still open of 2,000 µ$.
    await settleUsage(sql, [event(key.id, randomUUID(), { promptTokens: 200_000, completionTokens: 0 })]);
    const hold = await placeHold(sql, {
      keyId: key.id,
      callId: randomUUID(),
      nonce: "n",
      model: "fake-small",
      promptTokens: 1000,
      maxOutputTokens: 1000,
    });
    expect(hold.amountMicros).toBe(2_000n);
    const list = await act("ann")(membersRoute, "GET", { params: { org: org.slug } });
    expect(list.body.items.map((m: { email: string; role: string }) => [m.email, m.role])).toEqual([
      ["ann@example.com", "owner"],
      ["ben@example.com", "member"],
      ["cat@example.com", "billing"],
    ]);
    expect(list.body.items[1]).toMatchObject({
      dailyCapMicros: 300_000,
      monthlyCapMicros: 2_000_000,
      todaySpentMicros: 102_000,
      monthSpentMicros: 102_000,
      todayChargedMicros: 100_000,
      monthChargedMicros: 100_000,
      reservedMicros: 2_000,
    });
    // A plain member sees everyone's name and role, and only their own caps and spend; billing sees all spend.
    const asBen = await act("ben")(membersRoute, "GET", { params: { org: org.slug } });
    expect(asBen.body.items[1].todayChargedMicros).toBe(100_000);
    expect(asBen.body.items[0]).not.toHaveProperty("todaySpentMicros");
    expect(asBen.body.items[0]).not.toHaveProperty("dailyCapMicros");
    const asCat = await act("cat")(membersRoute, "GET", { params: { org: org.slug } });
    expect(asCat.body.items[1].todayChargedMicros).toBe(100_000);
  });

  it("only the owner makes, changes or removes an admin; nobody is made owner here", async () => {
    const org = await newOrg("ann");
    await addMember(org.id, "ben", "admin");
    await addMember(org.id, "cat", "admin");
    await addMember(org.id, "dan");
    const patch = (who: Person, target: Person, body: Record<string, unknown>) =>
      act(who)(memberRoute, "PATCH", { params: { org: org.slug, userId: ids[target]! }, body });
    expect((await patch("ben", "dan", { role: "admin" })).status).toBe(403);
    expect((await patch("ben", "cat", { role: "member" })).status).toBe(403);
    expect((await patch("ben", "cat", { dailyCapMicros: 5 })).status).toBe(403);
    expect((await patch("ben", "ann", { dailyCapMicros: 5 })).status).toBe(403);
    expect((await patch("dan", "dan", { dailyCapMicros: null })).status).toBe(403);
    expect(
      (await act("ben")(memberRoute, "DELETE", { params: { org: org.slug, userId: ids.cat! } })).status,
    ).toBe(403);
    const owner = await patch("ben", "dan", { role: "owner" });
    expect(owner.status).toBe(422);
    expect(owner.body.error.message).toContain("transfer");
    expect((await patch("ann", "ann", { role: "member" })).status).toBe(409);
    expect((await patch("ben", "dan", { role: "billing", monthlyCapMicros: 7 })).body.member).toMatchObject({
      role: "billing",
      monthlyCapMicros: 7,
    });
    expect((await patch("ann", "dan", { role: "admin" })).body.member.role).toBe("admin");
    expect((await patch("ann", "cat", { role: "member" })).body.member.role).toBe("member");
    expect((await patch("ann", "ghost" as Person, { role: "member" })).status).toBe(404);
    const roles =
      await sql`select u.email, m.role from organization_members m join users u on u.id = m.user_id
                            where m.organization_id = ${org.id} order by u.email`;
    expect(roles.map((r) => `${r.email}:${r.role}`)).toEqual([
      "ann@example.com:owner",
      "ben@example.com:admin",
      "cat@example.com:member",
      "dan@example.com:admin",
    ]);
  });

  it("a demotion to billing revokes the member's organization keys, and only those", async () => {
    const org = await newOrg("ann");
    await addMember(org.id, "ben");
    const key = await orgKey(org.account.id, "ben");
    const [own] = await sql<{ id: string }[]>`
      insert into api_keys (user_id, name, prefix, key_hash) values (${ids.ben!}, 'own', 'tg_own', ${Buffer.from(randomUUID())})
      returning id`;
    const res = await act("ann")(memberRoute, "PATCH", {
      params: { org: org.slug, userId: ids.ben! },
      body: { role: "billing" },
    });
    expect(res.body.member.role).toBe("billing");
    const statuses =
      await sql`select id, status, revoked_by from api_keys where id in ${sql([key.id, own!.id])}`;
    expect(Object.fromEntries(statuses.map((k) => [k.id, [k.status, k.revoked_by]]))).toEqual({
      [key.id]: ["revoked", ids.ann],
      [own!.id]: ["active", null],
    });
    expect(await verifyKey(sql, key.secret, PEPPER)).toMatchObject({ valid: false, reason: "revoked" });
  });

  it("removal revokes the member's keys in the same transaction; a member may leave; the owner may not", async () => {
    const org = await newOrg("ann");
    await addMember(org.id, "ben");
    await addMember(org.id, "cat", "admin");
    await addMember(org.id, "dan");
    const bens = [await orgKey(org.account.id, "ben"), await orgKey(org.account.id, "ben")];
    const dans = await orgKey(org.account.id, "dan");
    expect((await verifyKey(sql, bens[0]!.secret, PEPPER)).valid).toBe(true);
    const removed = await act("cat")(memberRoute, "DELETE", { params: { org: org.slug, userId: ids.ben! } });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body.revokedKeyIds.sort()).toEqual(bens.map((k) => k.id).sort());
    for (const k of bens)
      expect(await verifyKey(sql, k.secret, PEPPER)).toMatchObject({ valid: false, reason: "revoked" });
    expect(
      await sql`select 1 from organization_members where organization_id = ${org.id} and user_id = ${ids.ben!}`,
    ).toEqual([]);
    expect((await act("ben")(orgRoute, "GET", { params: { org: org.slug } })).status).toBe(404);
    const again = await act("cat")(memberRoute, "DELETE", { params: { org: org.slug, userId: ids.ben! } });
    expect(again.status).toBe(404);
    // Leaving: any member removes themselves (their keys revoked likewise); the owner must transfer first.
    const left = await act("dan")(memberRoute, "DELETE", { params: { org: org.slug, userId: ids.dan! } });
    expect(left.body).toEqual({ userId: ids.dan, revokedKeyIds: [dans.id] });
    const owner = await act("ann")(memberRoute, "DELETE", { params: { org: org.slug, userId: ids.ann! } });
    expect(owner.status).toBe(409);
    expect(owner.body.error.message).toContain("transfer");
    expect(
      (await act("cat")(memberRoute, "DELETE", { params: { org: org.slug, userId: ids.ann! } })).status,
    ).toBe(409);
    const actions =
      await sql`select action from audit_log where target_id = ${org.id} and action like 'org.member.%' order by id`;
    expect(actions.map((a) => a.action)).toEqual(["org.member.remove", "org.member.leave"]);
    expect(await count("organization_members")).toBeGreaterThan(0);
  });
});

describe("an admin the owner capped", () => {
  it("gives no member more room than their own caps, and members they invite start within them", async () => {
    const org = await newOrg("ann");
    await addMember(org.id, "cat", "admin");
    await addMember(org.id, "eve");
    await sql`update organization_members set daily_cap_micros = 1000 where organization_id = ${org.id}
              and user_id = ${ids.cat!}`;
    const patch = (body: Record<string, unknown>, who: Person = "cat") =>
      act(who)(memberRoute, "PATCH", { params: { org: org.slug, userId: ids.eve! }, body });
    const above = await patch({ dailyCapMicros: 5000 });
    expect(above.status).toBe(403);
    expect(above.body.error.message).toContain("at most that");
    expect((await patch({ dailyCapMicros: null })).status).toBe(403);
    // A monthly cap alone leaves the daily one unset: above the admin's daily cap too.
    expect((await patch({ monthlyCapMicros: 500 })).status).toBe(403);
    const within = await patch({ dailyCapMicros: 900 });
    expect(within.status, JSON.stringify(within.body)).toBe(200);
    expect(within.body.member.dailyCapMicros).toBe(900);
    // The owner is not held to it.
    expect((await patch({ dailyCapMicros: 50_000 }, "ann")).status).toBe(200);
    // Someone the capped admin brings in starts within the admin's caps.
    await sql`insert into organization_members (organization_id, user_id, role, invited_by)
              values (${org.id}, ${ids.fay!}, 'member', ${ids.cat!})`;
    const [fay] = await sql`select daily_cap_micros, monthly_cap_micros from organization_members
                            where organization_id = ${org.id} and user_id = ${ids.fay!}`;
    expect(fay).toEqual({ daily_cap_micros: 1000n, monthly_cap_micros: null });
  });
});

describe("a key made while its member is removed", () => {
  it("is revoked with the member's others, whichever commits first", async () => {
    for (let round = 0; round < 6; round++) {
      const org = await newOrg("ann");
      await addMember(org.id, "eve");
      await orgKey(org.account.id, "eve");
      const [made, removed] = await Promise.all([
        act("eve")(orgKeysRoute, "POST", { params: { org: org.slug }, body: { name: `raced ${round}` } }),
        act("ann")(memberRoute, "DELETE", { params: { org: org.slug, userId: ids.eve! } }),
      ]);
      expect(removed.status, JSON.stringify(removed.body)).toBe(200);
      // The key was made before the removal (then revoked with the rest) or refused after it (404 or 409, by when it
      // looked): never left active.
      expect([201, 404, 409]).toContain(made.status);
      expect(
        await sql`select id from api_keys where account_id = ${org.account.id} and user_id = ${ids.eve!}
                  and status = 'active'`,
      ).toEqual([]);
    }
  });
});

describe("transfer of ownership", () => {
  it("makes the target the owner and the old owner an admin; only the owner may; the target must be a member", async () => {
    const org = await newOrg("ann");
    await addMember(org.id, "ben", "admin");
    await addMember(org.id, "cat");
    const transfer = (who: Person, userId: string) =>
      act(who)(transferRoute, "POST", { params: { org: org.slug }, body: { userId } });
    expect((await transfer("ben", ids.ben!)).status).toBe(403);
    expect((await transfer("ann", ids.outsider!)).status).toBe(404);
    expect((await transfer("ann", ids.ann!)).status).toBe(409);
    const res = await transfer("ann", ids.cat!);
    expect(res.body).toEqual({ ownerUserId: ids.cat, previousOwnerUserId: ids.ann });
    const roles = await sql`select user_id, role from organization_members where organization_id = ${org.id}`;
    expect(Object.fromEntries(roles.map((r) => [r.user_id, r.role]))).toEqual({
      [ids.ann!]: "admin",
      [ids.ben!]: "admin",
      [ids.cat!]: "owner",
    });
    // The old owner, now an admin, can leave.
    expect(
      (await act("ann")(memberRoute, "DELETE", { params: { org: org.slug, userId: ids.ann! } })).status,
    ).toBe(200);
  });

  it("keeps exactly one owner when the owner transfers to two members at once", async () => {
    for (let round = 0; round < 5; round++) {
      const org = await newOrg("ann");
      await addMember(org.id, "ben");
      await addMember(org.id, "cat");
      const results = await Promise.all(
        [ids.ben!, ids.cat!].map((userId) =>
          act("ann")(transferRoute, "POST", { params: { org: org.slug }, body: { userId } }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 403]);
      const owners =
        await sql`select user_id from organization_members where organization_id = ${org.id} and role = 'owner'`;
      expect(owners).toEqual([{ user_id: results.find((r) => r.status === 200)!.body.ownerUserId }]);
    }
  });
});

/** Invites `email` into the organization as `who`; the token from the queued job (as the email would carry it). */
async function invite(who: Person, slug: string, email: string, role = "member") {
  const res = await act(who)(invitationsRoute, "POST", { params: { org: slug }, body: { email, role } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const [job] = await sql<{ payload: { token: string } }[]>`
    select payload from queue_jobs where name = ${ORG_INVITE_EMAIL_JOB} and payload->>'invitationId' = ${res.body.invitation.id}`;
  return { invitation: res.body.invitation, token: job!.payload.token };
}

const accept = (who: Person, token: string) => act(who)(acceptRoute, "POST", { params: { token } });

describe("invitations", () => {
  it("store only the token's keyed hash, list as pending, and refuse members and a second pending one", async () => {
    const org = await newOrg("ann");
    await addMember(org.id, "ben");
    const { invitation, token } = await invite("ann", org.slug, "Dan@Example.com", "billing");
    expect(invitation).toMatchObject({
      email: "dan@example.com",
      role: "billing",
      state: "pending",
      invitedByEmail: "ann@example.com",
    });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [row] = await sql`select token_hash, extract(epoch from expires_at - created_at)::int as ttl
                from organization_invitations where id = ${invitation.id}`;
    expect(Buffer.from(row!.token_hash).equals(hashKey(token, PEPPER))).toBe(true);
    expect(row!.ttl).toBe(7 * 86_400);
    const audit = await sql`select before, after from audit_log where target_id = ${org.id}`;
    expect(JSON.stringify(audit)).not.toContain(token);
    const list = await act("ann")(invitationsRoute, "GET", { params: { org: org.slug } });
    expect(list.body.items).toEqual([expect.objectContaining({ id: invitation.id, state: "pending" })]);
    expect(JSON.stringify(list.body)).not.toContain(token);
    const twice = await act("ann")(invitationsRoute, "POST", {
      params: { org: org.slug },
      body: { email: "dan@example.com" },
    });
    expect(twice.status).toBe(409);
    const member = await act("ann")(invitationsRoute, "POST", {
      params: { org: org.slug },
      body: { email: "ben@example.com" },
    });
    expect(member.status).toBe(409);
    // Members without members.manage cannot invite or list; only the owner invites an admin.
    expect(
      (
        await act("ben")(invitationsRoute, "POST", {
          params: { org: org.slug },
          body: { email: "x@example.com" },
        })
      ).status,
    ).toBe(403);
    expect((await act("ben")(invitationsRoute, "GET", { params: { org: org.slug } })).status).toBe(403);
    await addMember(org.id, "cat", "admin");
    const adminInvite = await act("cat")(invitationsRoute, "POST", {
      params: { org: org.slug },
      body: { email: "y@example.com", role: "admin" },
    });
    expect(adminInvite.status).toBe(403);
  });

  it("are accepted once, by the invited email only: wrong email 403 with nothing written, used 410", async () => {
    const org = await newOrg("ann");
    const { token } = await invite("ann", org.slug, "dan@example.com", "billing");
    const view = await act("eve")(inviteRoute, "GET", { params: { token } });
    expect(view.body.invitation).toMatchObject({
      organization: { id: org.id, slug: org.slug },
      email: "dan@example.com",
      role: "billing",
      state: "pending",
      invitedByEmail: "ann@example.com",
      forYou: false,
      alreadyMember: false,
    });
    const before = { members: await count("organization_members"), audit: await count("audit_log") };
    const wrong = await accept("eve", token);
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.message).toContain("dan@example.com");
    expect({ members: await count("organization_members"), audit: await count("audit_log") }).toEqual(before);
    expect(
      (await sql`select accepted_at from organization_invitations where organization_id = ${org.id}`)[0]!
        .accepted_at,
    ).toBeNull();
    const ok = await accept("dan", token);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body).toEqual({
      organization: { id: org.id, name: expect.any(String), slug: org.slug },
      role: "billing",
    });
    const [m] =
      await sql`select role, invited_by from organization_members where organization_id = ${org.id} and user_id = ${ids.dan!}`;
    expect(m).toEqual({ role: "billing", invited_by: ids.ann });
    const seat =
      await sql`select 1 from queue_jobs where name = ${ORG_SEAT_JOIN_JOB} and payload = ${sql.json({ organizationId: org.id, userId: ids.dan! })}`;
    expect(seat).toHaveLength(1);
    const used = await accept("dan", token);
    expect(used.status).toBe(410);
    expect(used.body.error).toMatchObject({ code: "gone", state: "accepted" });
    expect((await act("dan")(inviteRoute, "GET", { params: { token } })).body.invitation).toMatchObject({
      state: "accepted",
      alreadyMember: true,
      forYou: true,
    });
    expect((await act("dan")(inviteRoute, "GET", { params: { token: "x".repeat(43) } })).status).toBe(404);
    expect((await act("dan")(inviteRoute, "GET", { params: { token: "short" } })).status).toBe(404);
  });

  it("accepted twice at the same moment make exactly one member", async () => {
    for (let round = 0; round < 5; round++) {
      const org = await newOrg("ann");
      const { token } = await invite("ann", org.slug, "fay@example.com");
      const results = await Promise.all([accept("fay", token), accept("fay", token), accept("fay", token)]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 410, 410]);
      const members =
        await sql`select user_id from organization_members where organization_id = ${org.id} and user_id = ${ids.fay!}`;
      expect(members).toHaveLength(1);
    }
  });

  it("revoked answer 410 revoked, and an email not yet sent is never sent", async () => {
    const org = await newOrg("ann");
    const { invitation, token } = await invite("ann", org.slug, "gus@example.com");
    const res = await act("ann")(invitationRoute, "DELETE", { params: { org: org.slug, id: invitation.id } });
    expect(res.body.invitation.state).toBe("revoked");
    expect(
      (await act("ann")(invitationRoute, "DELETE", { params: { org: org.slug, id: invitation.id } })).status,
    ).toBe(409);
    const gone = await accept("gus", token);
    expect(gone.status).toBe(410);
    expect(gone.body.error.state).toBe("revoked");
    const [job] = await sql`select payload from queue_jobs where payload->>'invitationId' = ${invitation.id}`;
    expect(job!.payload).toEqual({ invitationId: invitation.id });
    await runQueue();
    expect(received.filter((m) => m.to === "gus@example.com")).toEqual([]);
    expect((await act("ann")(invitationsRoute, "GET", { params: { org: org.slug } })).body.items).toEqual([]);
    // A new invitation for the same email works.
    await invite("ann", org.slug, "gus@example.com");
  });

  it("expire after 7 days (410 expired), and the email can be invited again", async () => {
    const org = await newOrg("ann");
    const { token } = await invite("ann", org.slug, "gus@example.com", "admin");
    const clock = simulatedClock(sql, new Date().toISOString());
    const gus = { userId: ids.gus!, kind: "user" as const, role: "developer" as const };
    const inSixDays = await clock.at(clock.after(6 * 86_400_000), (db) => getInvitation(db, gus, token));
    expect(inSixDays.state).toBe("pending");
    const late = clock.after(7 * 86_400_000 + 1_000);
    expect((await clock.at(late, (db) => getInvitation(db, gus, token))).state).toBe("expired");
    await expect(clock.at(late, (db) => acceptInvitation(db, gus, token))).rejects.toMatchObject({
      code: "gone",
      status: 410,
      details: { state: "expired" },
    });
    expect(
      await sql`select 1 from organization_members where organization_id = ${org.id} and user_id = ${ids.gus!}`,
    ).toEqual([]);
    // At that moment the expired one no longer blocks a new invitation; the old link stays expired.
    const again = await clock.at(late, async (db) => {
      const { createInvitation } = await import("@/lib/orgs/invitations");
      return createInvitation(db, { userId: ids.ann!, kind: "user", role: "developer" }, org.slug, {
        email: "gus@example.com",
        role: "member",
      });
    });
    expect(again.state).toBe("pending");
    expect((await clock.at(late, (db) => getInvitation(db, gus, token))).state).toBe("expired");
  });

  it("arrive by email (a real SMTP server) with a link that works once, and the queue forgets the token", async () => {
    const org = await newOrg("ann", "Mail Test Org");
    const res = await act("ann")(invitationsRoute, "POST", {
      params: { org: org.slug },
      body: { email: "ben@example.com", role: "admin" },
    });
    expect(res.status).toBe(201);
    await runQueue();
    const mails = received.filter((m) => m.to === "ben@example.com");
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe("ann invited you to Mail Test Org on Tollgate");
    expect(mails[0]!.body).toContain("ann invited you to join Mail Test Org on Tollgate as an admin.");
    expect(mails[0]!.body).toContain(
      "No Tollgate account yet? Open the link to create one for ben@example.com.",
    );
    const link = /http:\/\/localhost:3000\/invite\/([A-Za-z0-9_-]{43})/.exec(mails[0]!.body);
    expect(link, mails[0]!.body).not.toBeNull();
    const token = link![1]!;
    const [job] =
      await sql`select state, payload from queue_jobs where payload->>'invitationId' = ${res.body.invitation.id}`;
    expect(job).toEqual({ state: "completed", payload: { invitationId: res.body.invitation.id } });
    const log =
      await sql`select kind, recipient, status, account_id from notifications where recipient = 'ben@example.com'`;
    expect(log).toEqual([
      { kind: "org_invitation", recipient: "ben@example.com", status: "sent", account_id: org.account.id },
    ]);
    expect((await accept("ben", token)).status).toBe(201);
    expect((await accept("ben", token)).status).toBe(410);
    const me = await act("ben")(orgRoute, "GET", { params: { org: org.slug } });
    expect(me.body.organization.role).toBe("admin");
  });

  it("that cannot be delivered die without their token, which no admin view shows either", async () => {
    const org = await newOrg("ann", "Bounce Org");
    const res = await act("ann")(invitationsRoute, "POST", {
      params: { org: org.slug },
      body: { email: "bounce@example.com", role: "member" },
    });
    expect(res.status).toBe(201);
    const id = res.body.invitation.id as string;
    // Each attempt fails at the SMTP server; run them all now rather than wait out the backoff.
    for (let attempt = 0; attempt < 20; attempt++) {
      const [job] = await sql<{ state: string }[]>`
        select state from queue_jobs where payload->>'invitationId' = ${id}`;
      if (job!.state === "dead") break;
      await sql`update queue_jobs set run_after = now() where payload->>'invitationId' = ${id}`;
      await runQueue();
    }
    const [job] = await sql<{ state: string; payload: Record<string, unknown> }[]>`
      select state, payload from queue_jobs where payload->>'invitationId' = ${id}`;
    expect(job).toEqual({ state: "dead", payload: { invitationId: id } });
    const failed = await sql`select status from notifications where recipient = 'bounce@example.com'`;
    expect(failed.length).toBeGreaterThan(1);
    expect(failed.every((n) => n.status === "failed")).toBe(true);
    // A job that died holding a token (before this rule) shows it to nobody.
    await sql`update queue_jobs set payload = payload || '{"token":"leftover-token-value"}'
              where payload->>'invitationId' = ${id}`;
    const queue = await act("admin")(queueRoute, "GET");
    expect(queue.status).toBe(200);
    expect(JSON.stringify(queue.body)).not.toContain("leftover-token-value");
  });
});
