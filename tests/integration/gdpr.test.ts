// GDPR erasure and export (issue 27, part 4): an erased person leaves no email or name in any text or JSON column of
// any table (found generically through information_schema, so a new table is covered), the money stays whole (the
// ledger and balances unchanged, the invariant holds), they cannot sign in and their keys are refused; the export
// carries their calls and ledger entries and never a secret or hash.
import { randomUUID } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/types";
import { checkLedgerInvariants, creditAccount } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { signWebhook } from "@/lib/http/webhook-signature";
import { createKey } from "@/lib/keys/create";
import { createInvitation } from "@/lib/orgs/invitations";
import { drain } from "@/lib/settlement/drain";
import { startSettlement } from "@/lib/settlement/run";
import { closeMonth } from "@/lib/statements/close";
import { readStatement } from "@/lib/statements/read";
import { createEndpoint } from "@/lib/webhooks/endpoints";
import { ADMIN_ACTOR, accountOf, event, SYSTEM, seedPricedModel, topUp } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { createTestOrganization, issueOrgKey } from "../helpers/orgs";
import { insertUser, PASSWORD, signIn } from "../helpers/users";
import { startReceiver } from "../helpers/webhook-receiver";

const { sql } = await createTestDatabase();
const PEPPER = process.env.KEY_PEPPER!;
const GATEWAY = { authorization: `Bearer ${process.env.GATEWAY_SECRET}` };

const eraseRoute = () => import("@/app/api/v1/users/[id]/erase/route");
const userExportRoute = () => import("@/app/api/v1/users/[id]/export/route");
const meExportRoute = () => import("@/app/api/v1/me/export/route");
const orgExportRoute = () => import("@/app/api/v1/orgs/[org]/export/route");

const tag = randomUUID().slice(0, 8);
const ERIN = { email: `erin.quill-${tag}@example.com`, name: `Erin Quillfeather${tag}` };
let adminId: string;
let admin: string;
let erinId: string;
let erinCookie: string;
let erinKey: { id: string; secret: string };
let erinOrgKey: { id: string; secret: string };
let org: Awaited<ReturnType<typeof createTestOrganization>>;
const callIds = [randomUUID(), randomUUID(), randomUUID()];

const actorOf = (userId: string, role: "admin" | "developer" = "developer"): Actor => ({
  userId,
  kind: "user",
  role,
});

async function postUsage(events: unknown[]) {
  const { POST } = await import("@/app/api/webhooks/litellm/route");
  const body = JSON.stringify({ events });
  const res = await call(POST, {
    raw: body,
    headers: { "x-tollgate-signature": signWebhook(process.env.WEBHOOK_SECRET!, body) },
  });
  expect(res.status).toBe(200);
}

/** Every text, JSON, array and address column of every table in public, and the rows where it holds `needle`. */
async function rowsHolding(needle: string): Promise<string[]> {
  const columns = await sql<{ table: string; column: string }[]>`
    select c.table_name as table, c.column_name as column
    from information_schema.columns c join information_schema.tables t
      on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
    where c.table_schema = 'public'
      and c.data_type in ('text', 'character varying', 'character', 'jsonb', 'json', 'ARRAY', 'inet', 'USER-DEFINED')
    order by 1, 2`;
  expect(columns.length).toBeGreaterThan(50);
  const found: string[] = [];
  for (const { table, column } of columns) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from ${sql(table)} where position(${needle.toLowerCase()} in lower(${sql(column)}::text)) > 0`;
    if (row!.n > 0) found.push(`${table}.${column} (${row!.n})`);
  }
  return found;
}

/** Money as it stands: every account's balance and the sum of its ledger entries, the ledger's size, usage sums. */
async function money() {
  const accounts = await sql<{ id: string; kind: string; balance: string; ledger: string }[]>`
    select a.id, a.kind, a.balance_micros::text as balance,
           coalesce((select sum(e.amount_micros) from ledger_entries e where e.account_id = a.id), 0)::text as ledger
    from accounts a order by a.id`;
  const [totals] = await sql`
    select (select count(*) from ledger_entries)::int as entries,
           (select count(*) from ledger_transactions)::int as transactions,
           (select coalesce(sum(amount_micros), 0) from ledger_entries)::text as "ledgerSum",
           (select count(*) from usage_events)::int as calls,
           (select coalesce(sum(revenue_micros), 0) from usage_events)::text as revenue,
           (select coalesce(sum(cost_micros), 0) from usage_events)::text as cost,
           (select coalesce(sum(revenue_micros), 0) from usage_rollups)::text as "rolledRevenue"`;
  return { accounts, totals };
}

beforeAll(async () => {
  adminId = await insertUser(sql, { email: `admin-${tag}@example.com`, role: "admin" });
  admin = await signIn(`admin-${tag}@example.com`);
  erinId = await insertUser(sql, { email: ERIN.email });
  await seedPricedModel(sql);
  // The admin renames her (an audit entry with her name and email), and funds her account.
  const { PATCH } = await import("@/app/api/v1/users/[id]/route");
  expect(
    (await call(PATCH, { method: "PATCH", cookie: admin, params: { id: erinId }, body: { name: ERIN.name } }))
      .status,
  ).toBe(200);
  await topUp(sql, adminId, (await accountOf(sql, erinId)).id, 5_000_000n);

  // A failed sign-in (throttle buckets under her email) and a real one (a session with address and browser).
  const { POST: login } = await import("@/app/api/auth/login/route");
  expect(
    (await call(login, { body: { email: ERIN.email, password: "wrong-wrong-wrong-wrong" } })).status,
  ).toBe(401);
  erinCookie = await signIn(ERIN.email);

  // An organization she is a member of, another whose owner invites her address.
  org = await createTestOrganization(sql, {
    pepper: PEPPER,
    balanceMicros: 2_000_000n,
    members: [{ role: "owner" }, { role: "member" }],
  });
  await sql`
    insert into organization_members (organization_id, user_id, role, invited_by)
    values (${org.id}, ${erinId}, 'member', ${org.members[0]!.userId})`;
  const other = await createTestOrganization(sql, {
    pepper: PEPPER,
    balanceMicros: 0n,
    members: [{ role: "owner" }],
  });
  await createInvitation(sql, actorOf(other.members[0]!.userId), other.id, {
    email: ERIN.email,
    role: "member",
  });

  // Her keys: one personal (named after her), one of the organization.
  const personal = await createKey(
    sql,
    actorOf(erinId),
    {
      userId: erinId,
      name: `${ERIN.name}'s laptop`,
      allowedModels: [],
      rpmLimit: null,
      tpmLimit: null,
      expiresAt: null,
    },
    { pepper: PEPPER },
  );
  erinKey = { id: personal.key.id, secret: personal.secret };
  const orgKey = await createKey(
    sql,
    actorOf(erinId),
    {
      userId: erinId,
      organization: org.slug,
      name: "batch jobs",
      allowedModels: [],
      rpmLimit: null,
      tpmLimit: null,
      expiresAt: null,
    },
    { pepper: PEPPER },
  );
  erinOrgKey = { id: orgKey.key.id, secret: orgKey.secret };

  // Calls on both keys, settled by the real webhook (charges in the ledger).
  await postUsage([
    event(erinKey.id, callIds[0]!),
    event(erinKey.id, callIds[1]!, { status: "failure", completionTokens: 0, errorClass: "APIError" }),
    event(erinOrgKey.id, callIds[2]!, { promptTokens: 1000 }),
  ]);

  // Her own provider key (member scope), one pinned to her personal key, and an organization's key she stored:
  // labels that name her (the sealed secrets are opaque here: erasure never needs to open them).
  await sql`
    insert into provider_credentials (scope, user_id, provider, label, secret_sealed, secret_hint, created_by)
    values ('member', ${erinId}, 'openai', ${`${ERIN.name} personal OpenAI`}, 'p0:v1.x.y.z', '6789', ${erinId})`;
  await sql`
    insert into provider_credentials (scope, key_id, provider, label, secret_sealed, secret_hint, created_by)
    values ('key', ${erinKey.id}, 'anthropic', 'laptop', 'p0:v1.x.y.z', '4321', ${erinId})`;
  await sql`
    insert into provider_credentials (scope, organization_id, provider, label, secret_sealed, secret_hint, created_by)
    values ('organization', ${org.id}, 'gemini', ${`Team Gemini (set up by ${ERIN.name})`}, 'p0:v1.x.y.z', '1111', ${erinId})`;

  // A playground conversation with her words, and a notification to her address naming her.
  await sql`
    insert into playground_conversations (user_id, title, settings, messages)
    values (${erinId}, ${`${ERIN.name} asks`}, ${sql.json({ model: "fake-small" })},
            ${sql.json([{ role: "user", content: `I am ${ERIN.name}, write to ${ERIN.email}` }])})`;
  const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${erinId}`;
  await sql`
    insert into notifications (account_id, kind, recipient, subject, status)
    values (${account!.id}, 'low_balance', ${ERIN.email}, ${`${ERIN.name}, your balance is low`}, 'skipped')`;
});

describe("export", () => {
  it("a developer downloads their own data: their calls with charges, their ledger, never a secret or hash", async () => {
    const res = await call((await meExportRoute()).GET, { cookie: erinCookie });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toContain(`tollgate-export-user-${erinId}.json`);
    const doc = res.body;
    expect(doc.format).toBe("tollgate.user-export");
    expect(doc.profile).toMatchObject({ id: erinId, email: ERIN.email, name: ERIN.name });
    expect(doc.usage.map((u: { callId: string }) => u.callId).sort()).toEqual([...callIds].sort());
    const charged = doc.usage.find((u: { callId: string }) => u.callId === callIds[0]);
    expect(charged.chargeMicros).toBe(125);
    expect(charged).not.toHaveProperty("costMicros");
    // The top-up and the charges on her own account, summing to her balance.
    const { balance_micros } = await accountOf(sql, erinId);
    const kinds = doc.ledgerEntries.map((e: { kind: string }) => e.kind);
    expect(kinds).toContain("topup");
    expect(kinds).toContain("charge");
    expect(doc.ledgerEntries.reduce((s: number, e: { amountMicros: number }) => s + e.amountMicros, 0)).toBe(
      Number(balance_micros),
    );
    expect(doc.memberships.map((m: { organizationId: string }) => m.organizationId)).toEqual([org.id]);
    expect(doc.keys.map((k: { id: string }) => k.id).sort()).toEqual([erinKey.id, erinOrgKey.id].sort());
    expect(doc.invitations).toHaveLength(1);
    expect(doc.playgroundConversations).toHaveLength(1);
    expect(doc.sessions.length).toBeGreaterThan(0);
    expect(doc.audit.some((a: { action: string }) => a.action === "user.update")).toBe(true);

    const text = JSON.stringify(doc);
    expect(text).not.toContain("$argon2");
    expect(text).not.toContain(erinKey.secret);
    const hashes = await sql<{ h: Buffer }[]>`
      select key_hash as h from api_keys where user_id = ${erinId}
      union all select token_hash from sessions where user_id = ${erinId}
      union all select token_hash from organization_invitations where email = ${ERIN.email}`;
    expect(hashes.length).toBeGreaterThanOrEqual(4);
    for (const { h } of hashes) {
      for (const form of [h.toString("hex"), h.toString("base64"), h.toString("base64url")]) {
        expect(text).not.toContain(form);
      }
    }
    const [audited] = await sql`
      select actor_id from audit_log where action = 'user.exported' and target_id = ${erinId}`;
    expect(audited?.actor_id).toBe(erinId);
  });

  it("a developer cannot export another person; an admin can export anyone", async () => {
    const other = org.members[1]!.userId;
    const byErin = await call((await userExportRoute()).GET, { cookie: erinCookie, params: { id: other } });
    expect(byErin.status).toBe(403);
    expect(byErin.body.error.code).toBe("forbidden");
    const byAdmin = await call((await userExportRoute()).GET, { cookie: admin, params: { id: erinId } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.profile.email).toBe(ERIN.email);
  });

  it("the organization's owner exports it, a member may not, an outsider does not see it", async () => {
    const { GET } = await orgExportRoute();
    const owner = org.members[0]!;
    await sql`update users set password_hash = (select password_hash from users where id = ${erinId}) where id = ${owner.userId}`;
    const ownerCookie = await signIn(owner.email, PASSWORD);
    const res = await call(GET, { cookie: ownerCookie, params: { org: org.slug } });
    expect(res.status).toBe(200);
    expect(res.body.organization).toMatchObject({ id: org.id, slug: org.slug });
    expect(res.body.usage.map((u: { callId: string }) => u.callId)).toEqual([callIds[2]]);
    expect(res.body.ledgerEntries.length).toBeGreaterThan(1);
    expect(JSON.stringify(res.body)).not.toContain("$argon2");
    const member = await call(GET, { cookie: erinCookie, params: { org: org.slug } });
    expect(member.status).toBe(403);
    const outsiderId = await insertUser(sql, { email: `outsider-${tag}@example.com` });
    expect(outsiderId).toBeTruthy();
    const outsider = await call(GET, {
      cookie: await signIn(`outsider-${tag}@example.com`),
      params: { org: org.slug },
    });
    expect(outsider.status).toBe(404);
    const [audited] = await sql`select actor_id from audit_log where action = 'organization.exported'`;
    expect(audited?.actor_id).toBe(owner.userId);
  });
});

describe("erasure", () => {
  it("is for admins only, from the dashboard's origin, with the email typed; a refusal writes nothing", async () => {
    const { POST } = await eraseRoute();
    const auditBefore = (await sql`select count(*)::int as n from audit_log`)[0]!.n;
    const byDeveloper = await call(POST, {
      cookie: erinCookie,
      params: { id: org.members[1]!.userId },
      body: { confirmEmail: org.members[1]!.email },
    });
    expect(byDeveloper.status).toBe(403);
    const crossSite = await call(POST, {
      cookie: admin,
      origin: "https://evil.example",
      params: { id: erinId },
      body: { confirmEmail: ERIN.email },
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error.code).toBe("cross_site_request");
    const mistyped = await call(POST, {
      cookie: admin,
      params: { id: erinId },
      body: { confirmEmail: "erin@example.com" },
    });
    expect(mistyped.status).toBe(422);
    const extra = await call(POST, {
      cookie: admin,
      params: { id: erinId },
      body: { confirmEmail: ERIN.email, force: true },
    });
    expect(extra.status).toBe(422);
    const self = await call(POST, {
      cookie: admin,
      params: { id: adminId },
      body: { confirmEmail: `admin-${tag}@example.com` },
    });
    expect(self.status).toBe(409);
    const [user] = await sql`select email, name from users where id = ${erinId}`;
    expect(user).toEqual({ email: ERIN.email, name: ERIN.name });
    expect((await sql`select count(*)::int as n from audit_log`)[0]!.n).toBe(auditBefore);
  });

  it("refuses the owner of an organization with other members (409): ownership is transferred first", async () => {
    const owner = org.members[0]!;
    const { POST } = await eraseRoute();
    const res = await call(POST, {
      cookie: admin,
      params: { id: owner.userId },
      body: { confirmEmail: owner.email },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain("transfer the ownership");
    const [still] = await sql`select email from users where id = ${owner.userId}`;
    expect(still!.email).toBe(owner.email);
    expect((await sql`select 1 from organization_members where user_id = ${owner.userId}`).length).toBe(1);
  });

  it("erases a person everywhere, keeps the money whole, and a second erasure changes nothing", async () => {
    const before = await money();
    expect(await checkLedgerInvariants(sql)).toEqual([]);
    const { balance_micros: balanceBefore } = await accountOf(sql, erinId);
    expect(balanceBefore).toBeGreaterThan(0n);
    expect(await rowsHolding(ERIN.email)).not.toEqual([]);
    expect(await rowsHolding(ERIN.name)).not.toEqual([]);

    const { POST } = await eraseRoute();
    const res = await call(POST, {
      cookie: admin,
      params: { id: erinId },
      body: { confirmEmail: ERIN.email },
    });
    expect(res.status).toBe(200);
    expect(res.body.erasure).toMatchObject({
      erased: true,
      alreadyErased: false,
      pseudonym: `erased-${erinId}@invalid`,
      keysRevoked: 2,
      membershipsEnded: 1,
      invitationsDeleted: 1,
      conversationsDeleted: 1,
      balanceMicros: Number(balanceBefore),
    });
    expect(res.body.erasure.sessionsDeleted).toBeGreaterThan(0);

    // Nowhere: no text, JSON, array or address column of any table holds her email or her name.
    expect(await rowsHolding(ERIN.email)).toEqual([]);
    expect(await rowsHolding(ERIN.name)).toEqual([]);
    expect(await rowsHolding(ERIN.email.split("@")[0]!)).toEqual([]);
    expect(await rowsHolding(encodeURIComponent(ERIN.email))).toEqual([]);

    // Money: every balance, every ledger sum, the ledger's rows and the usage amounts as they were.
    const after = await money();
    expect(after).toEqual(before);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
    for (const a of after.accounts.filter((a) => a.kind !== "system")) expect(a.ledger).toBe(a.balance);
    expect((await accountOf(sql, erinId)).balance_micros).toBe(balanceBefore);

    const [user] = await sql`
      select email, name, password_hash, auth_user_id, status from users where id = ${erinId}`;
    expect(user).toEqual({
      email: `erased-${erinId}@invalid`,
      name: null,
      password_hash: null,
      auth_user_id: null,
      status: "suspended",
    });
    expect(await sql`select 1 from sessions where user_id = ${erinId}`).toHaveLength(0);
    expect(await sql`select 1 from organization_members where user_id = ${erinId}`).toHaveLength(0);
    expect(await sql`select 1 from playground_conversations where user_id = ${erinId}`).toHaveLength(0);
    // Her own provider keys are gone; the organization's stays, its label without her name.
    expect(
      await sql`select scope from provider_credentials where user_id = ${erinId} or key_id = ${erinKey.id}`,
    ).toHaveLength(0);
    expect(await sql`select 1 from provider_credentials where organization_id = ${org.id}`).toHaveLength(1);
    // Her audit entries keep what happened and when, without her address.
    const [renamed] = await sql`select actor_id, action, before, after from audit_log
      where action = 'user.update' and target_id = ${erinId}`;
    expect(renamed).toMatchObject({ actor_id: adminId, action: "user.update" });
    expect(await sql`select 1 from audit_log where actor_id = ${erinId} and ip is not null`).toHaveLength(0);
    const [erased] = await sql`select actor_id, after from audit_log where action = 'user.erased'`;
    expect(erased!.actor_id).toBe(adminId);
    expect(erased!.after).toMatchObject({ keysRevoked: 2 });
    // Her usage rows stay, with their amounts, for the ledger and the organization's records.
    expect(
      await sql`select 1 from usage_events e join api_keys k on k.id = e.key_id where k.user_id = ${erinId}`,
    ).toHaveLength(3);

    // She cannot sign in, by her old email or by the pseudonym.
    const { POST: login } = await import("@/app/api/auth/login/route");
    expect((await call(login, { body: { email: ERIN.email, password: PASSWORD } })).status).toBe(401);
    // (The pseudonym is not even taken as an address by the sign-in form's schema: 422.)
    const byPseudonym = await call(login, {
      body: { email: `erased-${erinId}@invalid`, password: PASSWORD },
    });
    expect([401, 422]).toContain(byPseudonym.status);
    // Her old session cookie is dead.
    expect((await call((await meExportRoute()).GET, { cookie: erinCookie })).status).toBe(401);
    // Her keys: the gateway's auth lookup refuses them, and the key API answers 401.
    const { POST: gatewayAuth } = await import("@/app/api/internal/gateway/auth/route");
    const { GET: keyApi } = await import("@/app/api/v1/key/route");
    for (const key of [erinKey, erinOrgKey]) {
      const verdict = await call(gatewayAuth, { headers: GATEWAY, body: { key: key.secret } });
      expect(verdict.body).toMatchObject({ valid: false, reason: "revoked" });
      const res = await call(keyApi, { headers: { authorization: `Bearer ${key.secret}` }, origin: null });
      expect(res.status).toBe(401);
    }

    // Idempotent: a second erasure answers that she is erased and writes nothing.
    const auditCount = (await sql`select count(*)::int as n from audit_log`)[0]!.n;
    const again = await call(POST, {
      cookie: admin,
      params: { id: erinId },
      body: { confirmEmail: ERIN.email },
    });
    expect(again.status).toBe(200);
    expect(again.body.erasure).toMatchObject({ erased: false, alreadyErased: true, keysRevoked: 0 });
    expect((await sql`select count(*)::int as n from audit_log`)[0]!.n).toBe(auditCount);
    expect(await money()).toEqual(before);
  });

  it("an owner alone in an organization is erased; the organization is suspended with its money", async () => {
    const solo = await createTestOrganization(sql, {
      pepper: PEPPER,
      balanceMicros: 700_000n,
      members: [{ role: "owner" }],
    });
    const owner = solo.members[0]!;
    const { POST } = await eraseRoute();
    const res = await call(POST, {
      cookie: admin,
      params: { id: owner.userId },
      body: { confirmEmail: owner.email },
    });
    expect(res.status).toBe(200);
    expect(res.body.erasure).toMatchObject({ organizationsLeftEmpty: 1, keysRevoked: 1 });
    const [o] = await sql`
      select o.status, a.balance_micros from organizations o join accounts a on a.organization_id = o.id
      where o.id = ${solo.id}`;
    expect(o).toEqual({ status: "suspended", balance_micros: 700_000n });
    expect(await rowsHolding(owner.email)).toEqual([]);
  });

  it("the audit log stays append-only outside an erasure", async () => {
    await expect(
      sql`update audit_log set ip = null where id = (select min(id) from audit_log)`,
    ).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log where id = (select min(id) from audit_log)`).rejects.toThrow(
      /append-only/,
    );
  });
});

describe("a large export", () => {
  it("streams 60,000 calls from a cursor, batch by batch, with every call in the file", async () => {
    const ROWS = 60_000;
    const userId = await insertUser(sql, { email: `heavy-${tag}@example.com` });
    const key = await createKey(
      sql,
      actorOf(userId),
      { userId, name: "heavy", allowedModels: [], rpmLimit: null, tpmLimit: null, expiresAt: null },
      { pepper: PEPPER },
    );
    const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${userId}`;
    await sql`
      insert into usage_events (key_id, call_id, account_id, model_group, provider_model, status, stream,
                                prompt_tokens, completion_tokens, cached_tokens, reported_cost_micros, started_at,
                                ended_at, cost_micros, revenue_micros)
      select ${key.key.id}, 'heavy-' || g, ${account!.id}, 'fake-small', 'openai/fake-small', 'success',
             false, 100, 50, 0, 0, now() - make_interval(secs => g), now() - make_interval(secs => g), 90, 125
      from generate_series(1, ${ROWS}) g`;
    const { exportUserData } = await import("@/lib/gdpr/export");
    const { db } = await import("@/lib/db");
    const started = performance.now();
    // A collection before each reading, so the heap shows what is held, not garbage not yet collected.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const { stream } = await exportUserData(db(), actorOf(userId), userId);
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let chunks = 0;
    let bytes = 0;
    let calls = 0;
    let peakHeap = heapBefore;
    let tail = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      bytes += value.byteLength;
      // Rows are counted as they pass and the text is not kept: the heap shows what the export itself holds.
      const text = decoder.decode(value, { stream: true });
      calls += text.split('"callId":"heavy-').length - 1;
      tail = (tail + text).slice(-200);
      if (chunks % 20 === 0) {
        gc();
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      }
    }
    const ms = performance.now() - started;
    expect(calls).toBe(ROWS);
    expect(tail.trimEnd().endsWith("]}")).toBe(true);
    // One chunk per cursor batch of 500 (and a few for the head and the other sections): it was streamed.
    expect(chunks).toBeGreaterThanOrEqual(ROWS / 500);
    const heapGrowthMb = (peakHeap - heapBefore) / 1e6;
    console.log(
      `export of ${ROWS} calls: ${(bytes / 1e6).toFixed(1)} MB in ${chunks} chunks, ${ms.toFixed(0)} ms, ` +
        `most heap held while streaming ${heapGrowthMb.toFixed(1)} MB`,
    );
    // Bounded: the export holds a batch at a time, not the file.
    expect(heapGrowthMb).toBeLessThan(bytes / 1e6 / 4);
  }, 120_000);

  it("exports a user's calls over several UTC days oldest first, both keys' interleaved, no one else's", async () => {
    // 1,300 calls an hour apart from 2031-02-27 (past 29 February of no year: 2031 is not a leap year), alternating
    // between the user's two keys, with another user's calls at the same moments: the export pages (500 a batch) cross
    // days and keys.
    const userId = await insertUser(sql, { email: `days-${tag}@example.com` });
    const otherId = await insertUser(sql, { email: `days-other-${tag}@example.com` });
    const keyOf = async (owner: string, name: string) =>
      (
        await createKey(
          sql,
          actorOf(owner),
          { userId: owner, name, allowedModels: [], rpmLimit: null, tpmLimit: null, expiresAt: null },
          { pepper: PEPPER },
        )
      ).key.id;
    const keys = [await keyOf(userId, "a"), await keyOf(userId, "b"), await keyOf(otherId, "c")];
    await sql`
      insert into usage_events (key_id, call_id, account_id, model_group, provider_model, status, stream,
                                prompt_tokens, completion_tokens, started_at, ended_at)
      select k.id, 'days-' || k.name || '-' || g, k.account_id, 'fake-small', 'openai/fake-small',
             'success', false, 10, 5, timestamptz '2031-02-27T00:30:00Z' + make_interval(hours => g),
             timestamptz '2031-02-27T00:30:00Z' + make_interval(hours => g)
      from generate_series(0, 1299) g
      join api_keys k on k.id = any(${sql.array(keys)}::uuid[]) and (k.user_id <> ${userId} or (k.name = 'a') = (g % 2 = 0))`;
    const { exportUserData } = await import("@/lib/gdpr/export");
    const { db } = await import("@/lib/db");
    const { stream } = await exportUserData(db(), actorOf(userId), userId);
    const doc = JSON.parse(await new Response(stream).text());
    const ids = doc.usage.map((u: { callId: string }) => u.callId);
    expect(ids).toEqual(Array.from({ length: 1300 }, (_, g) => `days-${g % 2 === 0 ? "a" : "b"}-${g}`));
  }, 60_000);
});

describe("webhooks, statements and addresses", () => {
  // Ivy: a personal endpoint she described with her name and address, a member of an organization whose endpoint
  // hears her calls and her keys' revocation (its receiver answers with her name), January closed with both accounts'
  // statements naming her keys and her; audit entries made from her address and from an admin's.
  const IVY = { email: `ivy.marsh-${tag}@example.com`, name: `Ivy Marshwood${tag}` };
  const ADMIN_IP = "203.0.113.9";
  const IVY_IP = "198.51.100.7";
  const OWNER_IP = "192.0.2.44";
  const ivy = { id: "", cookie: "", accountId: "", personalKey: "", orgKey: "" };
  const team = { id: "", slug: `ivy-team-${tag}`, accountId: "", ownerCookie: "", endpointId: "" };
  const signingSecrets: string[] = [];

  beforeAll(async () => {
    const clock = simulatedClock(sql, "2026-01-01T00:00:00Z");
    await clock.seedPricedModel("fake-small");
    ivy.id = await insertUser(sql, { email: IVY.email });
    await sql`update users set name = ${IVY.name} where id = ${ivy.id}`;
    ivy.cookie = await signIn(IVY.email);
    ivy.accountId = (await accountOf(sql, ivy.id)).id;
    const ownerEmail = `ivy-owner-${tag}@example.com`;
    const ownerId = await insertUser(sql, { email: ownerEmail });
    team.ownerCookie = await signIn(ownerEmail);
    const [o] = await sql<{ id: string }[]>`
      insert into organizations (name, slug, created_by) values ('Ivy Team', ${team.slug}, ${ownerId}) returning id`;
    team.id = o!.id;
    const [a] = await sql<{ id: string }[]>`
      insert into accounts (kind, organization_id) values ('team', ${team.id}) returning id`;
    team.accountId = a!.id;
    await sql`insert into organization_members (organization_id, user_id, role)
              values (${team.id}, ${ownerId}, 'owner'), (${team.id}, ${ivy.id}, 'member')`;
    for (const accountId of [ivy.accountId, team.accountId]) {
      await clock.at("2026-01-02T00:00:00Z", (db) =>
        creditAccount(db, ADMIN_ACTOR(adminId), {
          accountId,
          amountMicros: 10_000_000n,
          kind: "topup",
          reason: "funding",
          idempotencyKey: randomUUID(),
        }),
      );
    }
    const receiver = await startReceiver();
    receiver.answer = () => ({ status: 200, body: `thanks, ${IVY.name}` });
    try {
      const developer = actorOf(ivy.id);
      const personal = await createEndpoint(
        sql,
        developer,
        {},
        {
          url: `${receiver.url}?to=${encodeURIComponent(IVY.email)}`,
          description: `${IVY.name}'s receiver`,
          eventTypes: ["call.charged", "key.revoked"],
        },
      );
      const { endpoint, secret } = await createEndpoint(
        sql,
        actorOf(ownerId),
        { org: team.id },
        {
          url: receiver.url,
          eventTypes: ["call.charged", "key.revoked"],
        },
      );
      team.endpointId = endpoint.id;
      signingSecrets.push(personal.secret, secret);
      ivy.personalKey = (
        await issueOrgKey(sql, {
          accountId: ivy.accountId,
          userId: ivy.id,
          pepper: PEPPER,
          name: `${IVY.name} laptop`,
        })
      ).id;
      ivy.orgKey = (
        await issueOrgKey(sql, {
          accountId: team.accountId,
          userId: ivy.id,
          pepper: PEPPER,
          name: `${IVY.name} batch`,
        })
      ).id;
      for (const key of [ivy.personalKey, ivy.orgKey]) {
        await clock.at("2026-01-10T12:00:00Z", (db) =>
          settleUsage(db, [
            event(key, `call-${randomUUID()}`, {
              startedAt: "2026-01-10T11:59:00Z",
              endedAt: "2026-01-10T11:59:30Z",
            }),
          ]),
        );
      }
      await startSettlement(sql, SYSTEM, { day: "2026-01-31", trigger: "manual", chunkAccounts: 50 });
      await drain(sql, { budgetMs: 20_000, replay: async () => [], policy: "release", graceMinutes: 0 });
      await clock.at("2026-02-01T01:00:00Z", (db) => closeMonth(db, SYSTEM, "2026-01"));
    } finally {
      await receiver.close();
    }
    await sql`
      insert into audit_log (actor_id, actor_kind, action, target_type, target_id, ip)
      values (${adminId}, 'user', 'user.update', 'user', ${ivy.id}, ${ADMIN_IP}),
             (${ivy.id}, 'user', 'key.create', 'api_key', ${ivy.personalKey}, ${IVY_IP}),
             (${ownerId}, 'user', 'org.update', 'organization', ${team.id}, ${OWNER_IP})`;
  });

  it("a person's export carries the address of what they did only, an organization's none", async () => {
    const mine = await call((await meExportRoute()).GET, { cookie: ivy.cookie });
    expect(mine.status).toBe(200);
    const ips = (doc: { audit: { actorId: string; ip: string | null }[] }) =>
      doc.audit.filter((a) => a.ip !== null).map((a) => a.ip);
    expect(mine.body.audit.some((a: { actorId: string }) => a.actorId === adminId)).toBe(true);
    expect(ips(mine.body)).toEqual([IVY_IP]);
    const byAdmin = await call((await userExportRoute()).GET, { cookie: admin, params: { id: ivy.id } });
    expect(ips(byAdmin.body)).toEqual([IVY_IP]);
    const theirs = await call((await orgExportRoute()).GET, {
      cookie: team.ownerCookie,
      params: { org: team.slug },
    });
    expect(theirs.status).toBe(200);
    expect(theirs.body.audit.some((a: { action: string }) => a.action === "org.update")).toBe(true);
    expect(ips(theirs.body)).toEqual([]);
    expect(JSON.stringify(theirs.body)).not.toContain(OWNER_IP);
  });

  it("the exports carry the webhook endpoints (never their secrets), the closed statements and the receipts", async () => {
    const mine = (await call((await meExportRoute()).GET, { cookie: ivy.cookie })).body;
    expect(mine.webhookEndpoints).toHaveLength(1);
    expect(mine.webhookEndpoints[0]).toMatchObject({ description: `${IVY.name}'s receiver`, enabled: true });
    expect(mine.statements.map((s: { number: string; month: string }) => s.month)).toEqual(["2026-01"]);
    expect(mine.statements[0].number).toMatch(/^ST-2026-\d{6}$/);
    expect(mine.statements[0].chargesByKey[0].label).toContain(`${IVY.name} laptop`);
    expect(mine.receipts).toHaveLength(1);
    expect(mine.receipts[0]).toMatchObject({
      label: expect.stringMatching(/^RC-2026-/),
      amountMicros: 10_000_000,
    });
    const theirs = (
      await call((await orgExportRoute()).GET, { cookie: team.ownerCookie, params: { org: team.slug } })
    ).body;
    expect(theirs.webhookEndpoints.map((w: { id: string }) => w.id)).toEqual([team.endpointId]);
    expect(theirs.statements).toHaveLength(1);
    expect(theirs.statements[0].chargesByMember[0].label).toBe(IVY.name);
    expect(theirs.receipts).toHaveLength(1);
    const secrets = await sql<{ s: string }[]>`
      select secret_ciphertext as s from webhook_endpoints where account_id in (${ivy.accountId}, ${team.accountId})`;
    expect(secrets).toHaveLength(2);
    for (const endpoint of [...mine.webhookEndpoints, ...theirs.webhookEndpoints]) {
      expect(Object.keys(endpoint).filter((k) => /secret/i.test(k))).toEqual([]);
    }
    for (const text of [JSON.stringify(mine), JSON.stringify(theirs)]) {
      for (const secret of [...secrets.map((r) => r.s), ...signingSecrets])
        expect(text).not.toContain(secret);
    }
  });

  it("erasure leaves her name and address in no webhook or statement row, plain or URL-encoded", async () => {
    const needles = [IVY.email, IVY.name, encodeURIComponent(IVY.email)];
    const before = await Promise.all(needles.map((n) => rowsHolding(n)));
    // Before: in the events' payloads (key names), the answers of the organization's receiver, her endpoint's URL.
    expect(before[1]).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^webhook_events\.payload /),
        expect.stringMatching(/^webhook_attempts\.response_excerpt /),
        expect.stringMatching(/^webhook_endpoints\.description /),
      ]),
    );
    expect(before[2]).toEqual(expect.arrayContaining([expect.stringMatching(/^webhook_endpoints\.url /)]));
    const { POST } = await eraseRoute();
    const res = await call(POST, {
      cookie: admin,
      params: { id: ivy.id },
      body: { confirmEmail: IVY.email },
    });
    expect(res.status).toBe(200);
    for (const needle of needles)
      expect({ needle, rows: await rowsHolding(needle) }).toEqual({ needle, rows: [] });

    // Her own endpoint is gone with its events; the organization's stays and heard her key revoked, under its pseudonym.
    expect(await sql`select 1 from webhook_endpoints where account_id = ${ivy.accountId}`).toHaveLength(0);
    expect(await sql`select 1 from webhook_events where account_id = ${ivy.accountId}`).toHaveLength(0);
    const [endpoint] = await sql`select enabled from webhook_endpoints where id = ${team.endpointId}`;
    expect(endpoint).toBeTruthy();
    const [revoked] = await sql<{ payload: { key: { id: string; name: string } } }[]>`
      select payload from webhook_events where account_id = ${team.accountId} and type = 'key.revoked'`;
    expect(revoked!.payload.key).toMatchObject({
      id: ivy.orgKey,
      name: expect.stringMatching(/^Erased user's key /),
    });
    const charged = await sql<{ payload: { key: { name: string } } }[]>`
      select payload from webhook_events where account_id = ${team.accountId} and type = 'call.charged'`;
    expect(charged.length).toBeGreaterThan(0);
    for (const { payload } of charged) expect(payload.key.name).not.toContain(IVY.name);

    // The closed statements keep their amounts and name her by her pseudonym.
    const statement = await readStatement(sql, team.accountId, "2026-01");
    expect(statement.chargesByMember.map((g) => g.label)).toEqual([`erased-${ivy.id}@invalid`]);
    expect(statement.chargesByKey.map((g) => g.label)).toEqual([
      expect.stringMatching(/^Erased user's key /),
    ]);
    expect(statement.chargesMicros).toBeLessThan(0n);
  });
});
