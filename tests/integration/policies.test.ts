// An account's response cache and PII guardrails as their owners set them (issue 30 parts 1 and 4), on real
// PostgreSQL through the routes: who reads and who changes an organization's and a person's policy (a table of
// role × route × status), the Origin check on cookie mutations, bad input refused with 422 and nothing written,
// an audit row per change with the policy before and after, a key's opt-out through the key edit path, and the
// gateway's auth answer (verifyKey) carrying what was set.
import { randomBytes, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { config } from "@/lib/config";
import { verifyKey } from "@/lib/keys/verify";
import { PII_CATEGORIES } from "@/lib/policies/schemas";
import { createTestDatabase } from "../helpers/db";
import { type CallOptions, call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();

const orgsRoute = () => import("@/app/api/v1/orgs/route");
const orgPolicyRoute = () => import("@/app/api/v1/orgs/[org]/policy/route");
const myPolicyRoute = () => import("@/app/api/v1/account/policy/route");
const orgKeysRoute = () => import("@/app/api/v1/orgs/[org]/keys/route");
const keysRoute = () => import("@/app/api/v1/keys/route");
const keyRoute = () => import("@/app/api/v1/keys/[id]/route");

type Person = { id: string; email: string; cookie: string };
type Handlers = Record<string, unknown>;
type Method = "GET" | "POST" | "PATCH";

async function person(label: string, role = "developer"): Promise<Person> {
  const email = `${label}-${randomBytes(4).toString("hex")}@example.com`;
  const id = await insertUser(sql, { email, role });
  return { id, email, cookie: await signIn(email) };
}

async function as(
  who: Person | undefined,
  route: () => Promise<Handlers>,
  method: Method,
  options: CallOptions = {},
) {
  return call((await route())[method] as Parameters<typeof call>[0], {
    method,
    cookie: who?.cookie,
    ...options,
  });
}

/** Every category off: a policy nobody has set. */
const ALL_OFF = Object.fromEntries(PII_CATEGORIES.map((c) => [c, "off"]));
const UNSET = { responseCache: { enabled: false, ttlSeconds: null, maxTemperature: 0 }, pii: ALL_OFF };

/** The account's stored columns, as the gateway reads them. */
async function stored(accountId: string) {
  const [row] = await sql`
    select response_cache_ttl_seconds as ttl, response_cache_max_temperature::float8 as temp, pii_policy as pii
    from accounts where id = ${accountId}`;
  return row;
}

const audits = (accountId: string) =>
  sql<{ action: string; actor_id: string; before: any; after: any }[]>`
    select action, actor_id::text, before, after from audit_log
    where target_type = 'account' and target_id = ${accountId} order by id`;

let platformAdmin: Person;
let owner: Person;
let orgAdmin: Person;
let member: Person;
let billing: Person;
let outsider: Person;
let org: { id: string; slug: string; name: string; account: { id: string } };
let accountOf: Record<string, string>;

beforeAll(async () => {
  platformAdmin = await person("platform", "admin");
  owner = await person("owner");
  orgAdmin = await person("org-admin");
  member = await person("member");
  billing = await person("billing");
  outsider = await person("outsider");
  const res = await as(owner, orgsRoute, "POST", { body: { name: `Policy ${randomUUID().slice(0, 8)}` } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  org = res.body.organization;
  for (const [who, role] of [
    [orgAdmin, "admin"],
    [member, "member"],
    [billing, "billing"],
  ] as const) {
    await sql`insert into organization_members (organization_id, user_id, role) values (${org.id}, ${who.id}, ${role})`;
  }
  const rows = await sql<{ owner_user_id: string; id: string }[]>`
    select owner_user_id::text, id::text from accounts where owner_user_id is not null`;
  accountOf = Object.fromEntries(rows.map((r) => [r.owner_user_id, r.id]));
});

describe("an organization's policy: every member reads it, owners and admins change it", () => {
  const who = () => ({ owner, orgAdmin, member, billing, outsider, platformAdmin });
  // role × method → status. Platform admins read every organization's but change none: it is the owner's choice.
  const MATRIX: [keyof ReturnType<typeof who>, number, number][] = [
    ["owner", 200, 200],
    ["orgAdmin", 200, 200],
    ["member", 200, 403],
    ["billing", 200, 403],
    ["outsider", 404, 404],
    ["platformAdmin", 200, 403],
  ];

  it.each(MATRIX)("%s: GET %i, PATCH %i", async (name, getStatus, patchStatus) => {
    const actor = who()[name];
    const before = await stored(org.account.id);
    const auditCount = (await audits(org.account.id)).length;
    const read = await as(actor, orgPolicyRoute, "GET", { params: { org: org.slug } });
    expect(read.status, JSON.stringify(read.body)).toBe(getStatus);
    if (getStatus === 200) {
      expect(read.body.accountId).toBe(org.account.id);
      expect(read.body.organizationId).toBe(org.id);
      expect(Object.keys(read.body.policy.pii).sort()).toEqual([...PII_CATEGORIES].sort());
      expect(read.body.canChange).toBe(patchStatus === 200);
    } else {
      expect(read.body.error.code).toBe("not_found");
    }
    const temp = patchStatus === 200 ? (name === "owner" ? 0.25 : 0.5) : 1.75;
    const change = await as(actor, orgPolicyRoute, "PATCH", {
      params: { org: org.slug },
      body: { responseCache: { maxTemperature: temp } },
    });
    expect(change.status, JSON.stringify(change.body)).toBe(patchStatus);
    if (patchStatus === 200) {
      expect(change.body.policy.responseCache.maxTemperature).toBe(temp);
      expect((await stored(org.account.id))!.temp).toBe(temp);
      const last = (await audits(org.account.id)).at(-1)!;
      expect(last.actor_id).toBe(actor.id);
    } else {
      expect(change.body.error.code).toBe(patchStatus === 403 ? "forbidden" : "not_found");
      expect(await stored(org.account.id)).toEqual(before);
      expect((await audits(org.account.id)).length).toBe(auditCount);
    }
  });

  it("the read-only answer names who changes it; a platform admin's refusal says it is the owner's choice", async () => {
    const read = await as(member, orgPolicyRoute, "GET", { params: { org: org.slug } });
    expect(read.body.changedBy).toBe(`${org.name}'s owners and admins`);
    const refused = await as(platformAdmin, orgPolicyRoute, "PATCH", {
      params: { org: org.slug },
      body: { pii: { email: "block" } },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/choice/);
  });

  it("signed out: 401; a cookie from another origin: 403 cross_site_request, nothing written", async () => {
    const before = await stored(org.account.id);
    const anonymous = await as(undefined, orgPolicyRoute, "PATCH", {
      params: { org: org.slug },
      body: { pii: { email: "mask" } },
    });
    expect(anonymous.status).toBe(401);
    const crossSite = await as(owner, orgPolicyRoute, "PATCH", {
      params: { org: org.slug },
      origin: "https://evil.example",
      body: { pii: { email: "mask" } },
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error.code).toBe("cross_site_request");
    const mine = await as(owner, myPolicyRoute, "PATCH", {
      origin: "https://evil.example",
      body: { pii: { email: "mask" } },
    });
    expect(mine.status).toBe(403);
    expect(mine.body.error.code).toBe("cross_site_request");
    expect(await stored(org.account.id)).toEqual(before);
    expect((await stored(accountOf[owner.id]!))!.pii).toEqual({});
  });
});

describe("bad input is refused with 422 and writes nothing", () => {
  const BAD: [string, unknown][] = [
    ["a TTL of 0", { responseCache: { enabled: true, ttlSeconds: 0 } }],
    ["a TTL as a string", { responseCache: { enabled: true, ttlSeconds: "60" } }],
    ["a TTL with a fraction", { responseCache: { enabled: true, ttlSeconds: 1.5 } }],
    ["a TTL above 7 days", { responseCache: { enabled: true, ttlSeconds: 604_801 } }],
    ["an unknown category", { pii: { passport: "mask" } }],
    ["an upper-case action", { pii: { email: "MASK" } }],
    ["an action that is not one", { pii: { email: "redact" } }],
    ["a temperature above 2", { responseCache: { maxTemperature: 2.01 } }],
    ["a temperature below 0", { responseCache: { maxTemperature: -0.1 } }],
    ["a temperature with 3 decimals", { responseCache: { maxTemperature: 0.125 } }],
    ["a temperature as a string", { responseCache: { maxTemperature: "0.5" } }],
    ["enabled as a string", { responseCache: { enabled: "true", ttlSeconds: 60 } }],
    ["a TTL while turning it off", { responseCache: { enabled: false, ttlSeconds: 60 } }],
    ["turning it on with no TTL", { responseCache: { enabled: true } }],
    ["a TTL alone while it is off", { responseCache: { ttlSeconds: 60 } }],
    ["an unknown field", { responseCache: { enabled: true, ttlSeconds: 60, semantic: true } }],
    ["an unknown top-level field", { pii: { email: "mask" }, cache: true }],
    ["nothing to change", {}],
    ["pii as a list", { pii: ["email"] }],
  ];

  it.each(BAD)("%s (organization and own account)", async (_label, body) => {
    for (const [route, params, accountId] of [
      [orgPolicyRoute, { org: org.slug }, org.account.id],
      [myPolicyRoute, {}, accountOf[member.id]!],
    ] as const) {
      const actor = route === orgPolicyRoute ? owner : member;
      const before = await stored(accountId);
      const auditCount = (await audits(accountId)).length;
      const res = await as(actor, route, "PATCH", { params, body });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.message).toEqual(expect.any(String));
      expect(await stored(accountId)).toEqual(before);
      expect((await audits(accountId)).length).toBe(auditCount);
    }
  });
});

describe("a person's own policy", () => {
  it("starts unset, every category off; is theirs to change; another's is not theirs to know of (404)", async () => {
    const dev = await person("dev");
    const other = await person("other");
    const read = await as(dev, myPolicyRoute, "GET");
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      accountId: accountOf[dev.id] ?? expect.any(String),
      organizationId: null,
      policy: UNSET,
      canChange: true,
    });
    const accountId = read.body.accountId as string;
    const change = await as(dev, myPolicyRoute, "PATCH", {
      body: {
        responseCache: { enabled: true, ttlSeconds: 300, maxTemperature: 0.7 },
        pii: { card: "block" },
      },
    });
    expect(change.status, JSON.stringify(change.body)).toBe(200);
    expect(change.body.policy).toEqual({
      responseCache: { enabled: true, ttlSeconds: 300, maxTemperature: 0.7 },
      pii: { ...ALL_OFF, card: "block" },
    });
    expect(await stored(accountId)).toEqual({ ttl: 300, temp: 0.7, pii: { card: "block" } });

    // Another developer naming dev's user id: 404 on both, nothing written.
    const peek = await as(other, myPolicyRoute, "GET", { path: `/?userId=${dev.id}` });
    expect(peek.status).toBe(404);
    const meddle = await as(other, myPolicyRoute, "PATCH", {
      path: `/?userId=${dev.id}`,
      body: { pii: { card: "off" } },
    });
    expect(meddle.status).toBe(404);
    // The other's own policy is untouched by dev's change.
    expect((await as(other, myPolicyRoute, "GET")).body.policy).toEqual(UNSET);

    // A platform admin reads a person's policy but does not change it.
    const adminRead = await as(platformAdmin, myPolicyRoute, "GET", { path: `/?userId=${dev.id}` });
    expect(adminRead.status).toBe(200);
    expect(adminRead.body).toMatchObject({ accountId, canChange: false, changedBy: "its owner" });
    expect(adminRead.body.policy.pii.card).toBe("block");
    const adminChange = await as(platformAdmin, myPolicyRoute, "PATCH", {
      path: `/?userId=${dev.id}`,
      body: { pii: { card: "off" } },
    });
    expect(adminChange.status).toBe(403);
    expect(await stored(accountId)).toEqual({ ttl: 300, temp: 0.7, pii: { card: "block" } });

    // Only what is sent changes; "off" removes the category; turning the cache off forgets the TTL.
    const partial = await as(dev, myPolicyRoute, "PATCH", {
      body: { pii: { card: "off", email: "mask" }, responseCache: { enabled: false } },
    });
    expect(partial.status).toBe(200);
    expect(await stored(accountId)).toEqual({ ttl: null, temp: 0.7, pii: { email: "mask" } });
    expect(partial.body.policy.responseCache).toEqual({
      enabled: false,
      ttlSeconds: null,
      maxTemperature: 0.7,
    });
  });
});

describe("audit rows and the gateway's auth answer", () => {
  it("each change is audited with the policy before and after", async () => {
    const accountId = org.account.id;
    const beforeCount = (await audits(accountId)).length;
    const res = await as(orgAdmin, orgPolicyRoute, "PATCH", {
      params: { org: org.slug },
      body: { responseCache: { enabled: true, ttlSeconds: 3600 }, pii: { email: "mask", secret: "block" } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const rows = await audits(accountId);
    expect(rows.length).toBe(beforeCount + 1);
    const last = rows.at(-1)!;
    expect(last.action).toBe("account.policy.update");
    expect(last.actor_id).toBe(orgAdmin.id);
    expect(last.before.responseCache.enabled).toBe(false);
    expect(last.before.pii.email).toBe("off");
    expect(last.after).toEqual(res.body.policy);
    expect(last.after.responseCache.ttlSeconds).toBe(3600);
    expect(last.after.pii).toMatchObject({ email: "mask", secret: "block", card: "off" });
  });

  it("verifyKey answers the account's policy for its keys, and no cache for a key that opted out", async () => {
    const policy = await as(owner, orgPolicyRoute, "PATCH", {
      params: { org: org.slug },
      body: {
        responseCache: { enabled: true, ttlSeconds: 86_400, maxTemperature: 0.3 },
        pii: { email: "mask", card: "block", secret: "off" },
      },
    });
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    const made = await as(member, orgKeysRoute, "POST", {
      params: { org: org.slug },
      body: { name: "cached" },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const optOut = await as(member, orgKeysRoute, "POST", {
      params: { org: org.slug },
      body: { name: "fresh" },
    });
    expect(optOut.status).toBe(201);
    expect(optOut.body.key.responseCache).toBe(true);

    const opted = await as(member, keyRoute, "PATCH", {
      params: { id: optOut.body.key.id },
      body: { responseCache: false },
    });
    expect(opted.status, JSON.stringify(opted.body)).toBe(200);
    expect(opted.body.key.responseCache).toBe(false);
    const [keyAudit] = await sql`
      select before->>'responseCache' as before, after->>'responseCache' as after from audit_log
      where action = 'key.update' and target_id = ${optOut.body.key.id}`;
    expect(keyAudit).toEqual({ before: "true", after: "false" });
    // A string is not a boolean: 422, the key unchanged.
    const bad = await as(member, keyRoute, "PATCH", {
      params: { id: made.body.key.id },
      body: { responseCache: "false" },
    });
    expect(bad.status).toBe(422);

    const pepper = config().KEY_PEPPER;
    const cached = await verifyKey(sql, made.body.secret, pepper);
    expect(cached.valid).toBe(true);
    if (!cached.valid) return;
    expect(cached.key.policy).toEqual({
      accountId: org.account.id,
      responseCache: { ttlSeconds: 86_400, maxTemperature: 0.3 },
      pii: { email: "mask", card: "block" },
    });
    const fresh = await verifyKey(sql, optOut.body.secret, pepper);
    expect(fresh.valid && fresh.key.policy).toEqual({
      accountId: org.account.id,
      responseCache: null,
      pii: { email: "mask", card: "block" },
    });

    // A person's key carries the person's own policy, not an organization's.
    const mine = await as(member, keysRoute, "POST", { body: { name: "personal" } });
    expect(mine.status, JSON.stringify(mine.body)).toBe(201);
    const personal = await verifyKey(sql, mine.body.secret, pepper);
    expect(personal.valid && personal.key.policy).toEqual({
      accountId: accountOf[member.id],
      responseCache: null,
      pii: {},
    });

    // Turned off by the owner: no key of the account is cached any more.
    await as(owner, orgPolicyRoute, "PATCH", {
      params: { org: org.slug },
      body: { responseCache: { enabled: false } },
    });
    const off = await verifyKey(sql, made.body.secret, pepper);
    expect(off.valid && off.key.policy.responseCache).toBeNull();
  });
});
