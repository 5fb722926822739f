// Bring your own provider key on real PostgreSQL (issue 29): a stored credential is sealed (the database never holds
// its plaintext, answers and the audit log show it masked), envelope-key rotation keeps every credential readable
// (and the old key can then go), who may manage a person's, an organization's and a key's credentials (the access
// matrix; refusals write nothing), base URLs refused in production mode, resolution key → member → organization with
// the owner's fallback choice, the Test button against a local provider, a refused BYOK call marking its credential
// invalid, and the BYOK fee charged exactly: ceil(full price × byok_fee_bps / 10,000), at no provider cost.
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settleUsage } from "@/lib/billing/settle";
import { parseConfig } from "@/lib/config";
import { createCredential } from "@/lib/providers/credentials";
import { envelopeKeys, openCredential, sealCredential } from "@/lib/providers/crypto";
import { rotateCredentials } from "@/lib/providers/rotate";
import { event, insertKey, seedPricedModel } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { fundAccount, issueOrgKey } from "../helpers/orgs";
import { insertUser, signIn } from "../helpers/users";

const { sql, url: dbUrl } = await createTestDatabase();
const PRODUCTION = { policy: { production: true } };

const listRoute = () => import("@/app/api/v1/provider-credentials/route");
const oneRoute = () => import("@/app/api/v1/provider-credentials/[id]/route");
const testRoute = () => import("@/app/api/v1/provider-credentials/[id]/test/route");
const fallbackRoute = () => import("@/app/api/v1/provider-credentials/fallback/route");
const gatewayRoute = () => import("@/app/api/internal/gateway/credentials/route");

type Person = { id: string; email: string; cookie: string };
const actorOf = (p: Person) => ({ userId: p.id, kind: "user" as const, role: "developer" as const });
let owner: Person;
let orgAdmin: Person;
let member: Person;
let billing: Person;
let outsider: Person;
let platformAdmin: Person;
let acme: { id: string; slug: string; accountId: string };

async function person(label: string, role = "developer"): Promise<Person> {
  const email = `${label}-${randomBytes(4).toString("hex")}@example.com`;
  const id = await insertUser(sql, { email, role });
  return { id, email, cookie: await signIn(email) };
}

const secretOf = (label: string) => `byok-${label}-${randomBytes(12).toString("hex")}`;

beforeAll(async () => {
  owner = await person("owner");
  orgAdmin = await person("admin");
  member = await person("member");
  billing = await person("billing");
  outsider = await person("outsider");
  platformAdmin = await person("platform", "admin");
  const slug = `acme-${randomBytes(3).toString("hex")}`;
  const [org] = await sql<{ id: string }[]>`
    insert into organizations (name, slug, created_by) values ('Acme', ${slug}, ${owner.id}) returning id`;
  const [account] = await sql<{ id: string }[]>`
    insert into accounts (kind, organization_id) values ('team', ${org!.id}) returning id`;
  for (const [who, role] of [
    [owner, "owner"],
    [orgAdmin, "admin"],
    [member, "member"],
    [billing, "billing"],
  ] as const)
    await sql`insert into organization_members (organization_id, user_id, role) values (${org!.id}, ${who.id}, ${role})`;
  acme = { id: org!.id, slug, accountId: account!.id };
  await fundAccount(sql, acme.accountId, 100_000_000n);
  await seedPricedModel(sql);
});

const counts = async () => {
  const [row] = await sql<{ credentials: number; audit: number }[]>`
    select (select count(*)::int from provider_credentials) as credentials,
           (select count(*)::int from audit_log where action like 'provider_credential.%') as audit`;
  return row!;
};

async function store(who: Person, query: string, body: Record<string, unknown>) {
  const { POST } = await listRoute();
  return call(POST, { path: `/api/v1/provider-credentials${query}`, cookie: who.cookie, body });
}

describe("encryption", () => {
  it("stores the secret sealed, shows it masked, keeps it out of answers and the audit log", async () => {
    const secret = `sk-proj-${randomBytes(16).toString("hex")}`;
    const created = await store(outsider, "", { provider: "openai", label: "mine", secret });
    expect(created.status).toBe(201);
    expect(created.body.credential.masked).toBe(`sk-…${secret.slice(-4)}`);
    const [row] = await sql<{ sealed: string }[]>`
      select secret_sealed as sealed from provider_credentials where id = ${created.body.credential.id}`;
    expect(row!.sealed).not.toContain(secret);
    expect(row!.sealed).not.toContain(Buffer.from(secret).toString("base64"));
    expect(row!.sealed.startsWith("p0:v1.")).toBe(true);
    expect(openCredential(row!.sealed)).toBe(secret);
    const listed = await call((await listRoute()).GET, {
      path: "/api/v1/provider-credentials",
      cookie: outsider.cookie,
    });
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(listed.body.allowPlatformFallback).toBe(false);
    const audit = await sql`select before, after from audit_log where action like 'provider_credential.%'`;
    expect(JSON.stringify(audit)).not.toContain(secret.slice(0, -4));
    // A sealed value with a changed byte, or its key id swapped, does not open.
    const tampered = row!.sealed.slice(0, -2) + (row!.sealed.endsWith("A") ? "BB" : "AA");
    expect(() => openCredential(tampered)).toThrow(/unreadable/);
    await call((await oneRoute()).DELETE, {
      method: "DELETE",
      cookie: outsider.cookie,
      params: { id: created.body.credential.id },
    });
  });

  it("rotation re-seals every credential under the new key; the old key can then be removed", async () => {
    const keyA = { id: "a", key: randomBytes(32) };
    const keyB = { id: "b", key: randomBytes(32) };
    const secrets = Array.from({ length: 5 }, (_, i) => secretOf(`rot${i}`));
    const ids: string[] = [];
    for (const s of secrets) {
      const [row] = await sql<{ id: string }[]>`
        insert into provider_credentials (scope, user_id, provider, secret_sealed, secret_hint)
        values ('member', ${await insertUser(sql, { email: `r-${randomUUID()}@example.com` })}, 'openai',
                ${sealCredential(s, [keyA])}, ${s.slice(-4)})
        returning id::text as id`;
      ids.push(row!.id);
    }
    const sealedOf = async () =>
      (
        await sql<{ id: string; sealed: string }[]>`
        select id::text as id, secret_sealed as sealed from provider_credentials where id = any(${ids}::uuid[])
        order by id`
      ).map((r) => ({ ...r, secret: secrets[ids.indexOf(r.id)]! }));
    // B first, A kept: everything opens before and after the rotation.
    for (const r of await sealedOf()) expect(openCredential(r.sealed, [keyB, keyA])).toBe(r.secret);
    const result = await rotateCredentials(sql, [keyB, keyA, ...envelopeKeys()]);
    expect(result.resealed).toBeGreaterThanOrEqual(5);
    expect(result.unreadable).toEqual([]);
    for (const r of await sealedOf()) {
      expect(r.sealed.startsWith("b:v1.")).toBe(true);
      expect(openCredential(r.sealed, [keyB, keyA])).toBe(r.secret);
      // A removed: still opens with B alone.
      expect(openCredential(r.sealed, [keyB])).toBe(r.secret);
      expect(() => openCredential(r.sealed, [keyA])).toThrow(/not configured/);
    }
    // Running it again changes nothing.
    expect((await rotateCredentials(sql, [keyB])).resealed).toBe(0);
    await sql`delete from provider_credentials where id = any(${ids}::uuid[])`;
  });

  it("npm run credentials:rotate moves every credential off the derived key onto PROVIDER_KEYS' first", async () => {
    const secret = secretOf("cli");
    const stored = await createCredential(sql, actorOf(outsider), {}, { provider: "anthropic", secret });
    const [before] = await sql<{ sealed: string }[]>`
      select secret_sealed as sealed from provider_credentials where id = ${stored.id}`;
    expect(before!.sealed.startsWith("p0:")).toBe(true);
    const next = { id: "k9", key: randomBytes(32) };
    const out = execFileSync("npm", ["run", "-s", "credentials:rotate"], {
      env: { ...process.env, DATABASE_URL: dbUrl, PROVIDER_KEYS: `k9:${next.key.toString("base64")}` },
      encoding: "utf8",
    });
    expect(out).toMatch(/provider credentials: [1-9]\d* re-sealed with key k9/);
    expect(out).not.toContain(secret);
    const [after] = await sql<{ sealed: string }[]>`
      select secret_sealed as sealed from provider_credentials where id = ${stored.id}`;
    expect(after!.sealed.startsWith("k9:v1.")).toBe(true);
    expect(openCredential(after!.sealed, [next])).toBe(secret);
    await call((await oneRoute()).DELETE, {
      method: "DELETE",
      cookie: outsider.cookie,
      params: { id: stored.id },
    });
  });

  it("reads PROVIDER_KEYS as id:base64 pairs, the first sealing, and refuses malformed ones", () => {
    const base = {
      DATABASE_URL: "postgres://x@localhost/x",
      SESSION_SECRET: "s".repeat(32),
      GATEWAY_SECRET: "g".repeat(32),
      KEY_PEPPER: "p".repeat(32),
      WEBHOOK_SECRET: "w".repeat(32),
      CRON_SECRET: "c".repeat(32),
    };
    const a = randomBytes(32).toString("base64");
    const b = randomBytes(32).toString("base64");
    const cfg = parseConfig({ ...base, PROVIDER_KEYS: `k2:${b}, k1:${a}` });
    expect(envelopeKeys(cfg).map((k) => k.id)).toEqual(["k2", "k1", "p0"]);
    expect(envelopeKeys(parseConfig(base)).map((k) => k.id)).toEqual(["p0"]);
    expect(() => parseConfig({ ...base, PROVIDER_KEYS: `k1:${randomBytes(16).toString("base64")}` })).toThrow(
      /32 bytes/,
    );
    expect(() => parseConfig({ ...base, PROVIDER_KEYS: `k1:${a},k1:${b}` })).toThrow(/ids must differ/);
  });
});

describe("access", () => {
  it("lets an organization's owners and admins manage its provider keys, members see them masked; refusals write nothing", async () => {
    const created = await store(owner, `?org=${acme.slug}`, {
      provider: "anthropic",
      secret: secretOf("org"),
    });
    expect(created.status).toBe(201);
    const id = created.body.credential.id as string;
    const { GET } = await listRoute();
    const before = await counts();
    const table: [Person, string, number][] = [
      [orgAdmin, "list", 200],
      [member, "list", 200],
      [billing, "list", 200],
      [outsider, "list", 404],
      [platformAdmin, "list", 200],
      [member, "create", 403],
      [billing, "create", 403],
      [outsider, "create", 404],
      [member, "delete", 403],
      [outsider, "delete", 404],
      [member, "test", 403],
      [outsider, "test", 404],
      [member, "fallback", 403],
      [outsider, "fallback", 404],
    ];
    for (const [who, verb, status] of table) {
      const res =
        verb === "list"
          ? await call(GET, { path: `/api/v1/provider-credentials?org=${acme.slug}`, cookie: who.cookie })
          : verb === "create"
            ? await store(who, `?org=${acme.slug}`, { provider: "openai", secret: secretOf("x") })
            : verb === "delete"
              ? await call((await oneRoute()).DELETE, {
                  method: "DELETE",
                  cookie: who.cookie,
                  params: { id },
                })
              : verb === "test"
                ? await call((await testRoute()).POST, { method: "POST", cookie: who.cookie, params: { id } })
                : await call((await fallbackRoute()).PUT, {
                    method: "PUT",
                    path: `/api/v1/provider-credentials/fallback?org=${acme.slug}`,
                    cookie: who.cookie,
                    body: { allowPlatformFallback: true },
                  });
      expect([who.email.split("-")[0], verb, res.status]).toEqual([who.email.split("-")[0], verb, status]);
      if (status >= 400) expect(res.body.error.code).toBe(status === 404 ? "not_found" : "forbidden");
      if (verb === "list" && status === 200) {
        expect(res.body.credentials).toHaveLength(1);
        expect(res.body.credentials[0].masked).toMatch(/^sk-ant-…[0-9a-f]{4}$/);
      }
    }
    expect(await counts()).toEqual(before);
    // A key's pinned credential: its maker may; another member may not change it.
    const key = await issueOrgKey(sql, {
      accountId: acme.accountId,
      userId: member.id,
      pepper: process.env.KEY_PEPPER!,
    });
    expect(
      (await store(member, `?keyId=${key.id}`, { provider: "openai", secret: secretOf("pin") })).status,
    ).toBe(201);
    expect(
      (await store(outsider, `?keyId=${key.id}`, { provider: "gemini", secret: secretOf("no") })).status,
    ).toBe(404);
    // A person's own credential is invisible to another developer.
    const mine = await store(outsider, "", { provider: "gemini", secret: secretOf("own") });
    const peek = await call((await oneRoute()).DELETE, {
      method: "DELETE",
      cookie: owner.cookie,
      params: { id: mine.body.credential.id },
    });
    expect(peek.status).toBe(404);
    // Cross-site mutations are refused by the wrapper.
    const crossSite = await call((await listRoute()).POST, {
      path: "/api/v1/provider-credentials",
      cookie: outsider.cookie,
      origin: "https://evil.example",
      body: { provider: "openai", secret: secretOf("evil") },
    });
    expect(crossSite.status).toBe(403);
    // Bad input: unknown fields, a base URL where none belongs, none where one is needed.
    for (const body of [
      { provider: "openai", secret: secretOf("a"), extra: 1 },
      { provider: "openai", secret: secretOf("a"), apiBase: "https://example.com/v1" },
      { provider: "azure", secret: secretOf("a") },
      { provider: "openai", secret: "short" },
      { provider: "cohere", secret: secretOf("a") },
    ]) {
      const res = await store(outsider, "", body);
      expect(res.status).toBe(422);
    }
  });

  it("refuses base URLs to private or plain-http hosts in production, unless an admin allowed the host", async () => {
    for (const apiBase of [
      "http://api.example.com/v1",
      "https://127.0.0.1/v1",
      "https://10.0.0.8/v1",
      "https://169.254.169.254/latest",
      "https://[::1]/v1",
      "https://localhost/v1",
      "https://user:pw@example.com/v1",
    ]) {
      await expect(
        createCredential(
          sql,
          actorOf(outsider),
          {},
          { provider: "openai_compatible", secret: secretOf("ssrf"), apiBase },
          PRODUCTION,
        ),
      ).rejects.toMatchObject({ code: "validation_failed" });
    }
    const hostsRoute = await import("@/app/api/v1/provider-credentials/allowed-hosts/route");
    const put = (who: Person, body: unknown) =>
      call(hostsRoute.PUT, {
        method: "PUT",
        path: "/api/v1/provider-credentials/allowed-hosts",
        cookie: who.cookie,
        body,
      });
    expect((await put(owner, { hosts: ["vllm.internal"] })).status).toBe(403);
    expect((await put(platformAdmin, { hosts: ["http://vllm.internal"] })).status).toBe(422);
    const set = await put(platformAdmin, { hosts: ["VLLM.internal"] });
    expect(set.body).toEqual({ hosts: ["vllm.internal"] });
    const [audited] = await sql<{ after: { hosts: string[] } }[]>`
      select after from audit_log where action = 'operator.provider_hosts' order by id desc limit 1`;
    expect(audited!.after.hosts).toEqual(["vllm.internal"]);
    const allowed = await createCredential(
      sql,
      actorOf(outsider),
      {},
      { provider: "openai_compatible", secret: secretOf("vllm"), apiBase: "http://vllm.internal:8000/v1" },
      PRODUCTION,
    );
    expect(allowed.apiBase).toBe("http://vllm.internal:8000/v1");
    await sql`update operator_settings set provider_allowed_hosts = '{}'`;
  });
});

describe("resolution and the gateway's answer", () => {
  it("serves key → member → organization, skips invalid ones, and follows the owner's fallback choice", async () => {
    const dev = await person("dev");
    await sql`insert into organization_members (organization_id, user_id, role) values (${acme.id}, ${dev.id}, 'member')`;
    const key = await issueOrgKey(sql, {
      accountId: acme.accountId,
      userId: dev.id,
      pepper: process.env.KEY_PEPPER!,
    });
    const personal = await insertKey(sql, dev.id);
    const orgSecret = secretOf("o");
    const memberSecret = secretOf("m");
    const keySecret = secretOf("k");
    await sql`delete from provider_credentials where organization_id = ${acme.id}`;
    await store(owner, `?org=${acme.slug}`, { provider: "openai", secret: orgSecret });
    const gateway = async (keyId: string, secret = process.env.GATEWAY_SECRET!) =>
      call((await gatewayRoute()).POST, {
        headers: { authorization: `Bearer ${secret}` },
        origin: null,
        body: { keyId },
      });
    expect((await gateway(key.id)).body.credentials.openai).toMatchObject({
      scope: "organization",
      apiKey: orgSecret,
    });
    // The personal key sees none of the organization's.
    expect((await gateway(personal)).body).toEqual({ credentials: {}, missing: "platform" });
    const memberCred = await store(dev, "", { provider: "openai", secret: memberSecret });
    expect((await gateway(key.id)).body.credentials.openai.apiKey).toBe(memberSecret);
    expect((await gateway(personal)).body.credentials.openai.apiKey).toBe(memberSecret);
    await store(dev, `?keyId=${key.id}`, { provider: "openai", secret: keySecret });
    expect((await gateway(key.id)).body.credentials.openai.apiKey).toBe(keySecret);
    // An invalid credential is skipped: the next one serves.
    await sql`update provider_credentials set status = 'invalid' where key_id = ${key.id}`;
    expect((await gateway(key.id)).body.credentials.openai.apiKey).toBe(memberSecret);
    // Fallback: the organization stored one, so it refuses by default; the owner allows it.
    expect((await gateway(key.id)).body.missing).toBe("refuse");
    const allow = await call((await fallbackRoute()).PUT, {
      method: "PUT",
      path: `/api/v1/provider-credentials/fallback?org=${acme.slug}`,
      cookie: owner.cookie,
      body: { allowPlatformFallback: true },
    });
    expect(allow.status).toBe(200);
    expect((await gateway(key.id)).body.missing).toBe("platform");
    // The gateway secret is required.
    expect((await gateway(key.id, "wrong".repeat(8))).status).toBe(401);
    await call((await oneRoute()).DELETE, {
      method: "DELETE",
      cookie: dev.cookie,
      params: { id: memberCred.body.credential.id },
    });
    expect((await gateway(personal)).body).toEqual({ credentials: {}, missing: "refuse" });
  });
});

describe("the Test button", () => {
  let provider: Server;
  let base: string;
  const good = secretOf("good");
  beforeAll(async () => {
    provider = createServer((req, res) => {
      const ok = req.url === "/v1/models" && req.headers.authorization === `Bearer ${good}`;
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          ok
            ? { data: [] }
            : { error: { message: `Incorrect API key provided: ${req.headers.authorization}` } },
        ),
      );
    });
    await new Promise<void>((r) => provider.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => provider?.close());

  it("records ok for a key the provider accepts and invalid for one it refuses, never its answer", async () => {
    const dev = await person("tester");
    const goodCred = await store(dev, "", { provider: "openai_compatible", secret: good, apiBase: base });
    expect(goodCred.status).toBe(201);
    const ok = await call((await testRoute()).POST, {
      method: "POST",
      cookie: dev.cookie,
      params: { id: goodCred.body.credential.id },
    });
    expect(ok.body).toMatchObject({
      ok: true,
      status: 200,
      credential: { status: "active", lastError: null },
    });
    await call((await oneRoute()).DELETE, {
      method: "DELETE",
      cookie: dev.cookie,
      params: { id: goodCred.body.credential.id },
    });
    const bad = secretOf("bad");
    const badCred = await store(dev, "", { provider: "openai_compatible", secret: bad, apiBase: base });
    const refused = await call((await testRoute()).POST, {
      method: "POST",
      cookie: dev.cookie,
      params: { id: badCred.body.credential.id },
    });
    expect(refused.body).toMatchObject({ ok: false, status: 401, credential: { status: "invalid" } });
    expect(refused.body.credential.lastError).toBe("The provider refused this key (HTTP 401).");
    expect(JSON.stringify(refused.body)).not.toContain(bad);
  });
});

describe("BYOK billing", () => {
  it("charges ceil(full × byok_fee_bps / 10,000) of the owner's plan at no provider cost, for several fees", async () => {
    const dev = await person("payer");
    const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${dev.id}`;
    await fundAccount(sql, account!.id, 1_000_000_000n);
    const keyId = await insertKey(sql, dev.id);
    const units = { promptTokens: 12_345, completionTokens: 6_789 };
    const platformCall = `call-${randomUUID()}`;
    await settleUsage(sql, [event(keyId, platformCall, units)]);
    // The platform's credential is stored as null (docs/adr/0033), read as 'platform'.
    const [full] = await sql<{ revenue: bigint; cost: bigint; credential: string }[]>`
      select revenue_micros as revenue, cost_micros as cost, coalesce(credential, 'platform') as credential
      from usage_events where call_id = ${platformCall}`;
    expect(full!.credential).toBe("platform");
    expect(full!.revenue).toBe(16_356n);
    // No plan: the default 5 %.
    for (const bps of [null, 0, 1, 333, 500, 2_500, 10_000]) {
      if (bps !== null) {
        const [plan] = await sql<{ id: string }[]>`
          insert into plans (name, byok_fee_bps) values (${`byok-${bps}-${randomUUID().slice(0, 8)}`}, ${bps}) returning id`;
        await sql`update users set plan_id = ${plan!.id} where id = ${dev.id}`;
      }
      const before = (
        await sql<{ b: bigint }[]>`select balance_micros as b from accounts where id = ${account!.id}`
      )[0]!.b;
      const callId = `call-${randomUUID()}`;
      await settleUsage(sql, [event(keyId, callId, { ...units, credential: "byok", credentialId: null })]);
      const [row] = await sql<{ revenue: bigint; cost: bigint; credential: string }[]>`
        select revenue_micros as revenue, cost_micros as cost, coalesce(credential, 'platform') as credential
        from usage_events where call_id = ${callId}`;
      const fee = (full!.revenue * BigInt(bps ?? 500) + 9_999n) / 10_000n;
      expect([bps, row!.revenue, row!.cost, row!.credential]).toEqual([bps, fee, 0n, "byok"]);
      const after = (
        await sql<{ b: bigint }[]>`select balance_micros as b from accounts where id = ${account!.id}`
      )[0]!.b;
      expect(before - after).toBe(fee);
    }
    // The request log says which credentials served each call, and filters by it (the owner's own view).
    const { GET } = await import("@/app/api/v1/me/requests/route");
    const byokCalls = await call(GET, { path: "/api/v1/me/requests?credential=byok", cookie: dev.cookie });
    expect(byokCalls.status).toBe(200);
    expect(byokCalls.body.items).toHaveLength(7);
    expect(new Set(byokCalls.body.items.map((r: { credential: string }) => r.credential))).toEqual(
      new Set(["byok"]),
    );
    const platformCalls = await call(GET, {
      path: "/api/v1/me/requests?credential=platform",
      cookie: dev.cookie,
    });
    expect(platformCalls.body.items.map((r: { callId: string }) => r.callId)).toEqual([platformCall]);
    expect(
      (await call(GET, { path: "/api/v1/me/requests?credential=other", cookie: dev.cookie })).status,
    ).toBe(422);
  });

  it("a BYOK call the provider refused is free and marks its credential invalid", async () => {
    const dev = await person("refused");
    const keyId = await insertKey(sql, dev.id);
    const cred = await store(dev, "", { provider: "openai", secret: secretOf("dead") });
    const callId = `call-${randomUUID()}`;
    await settleUsage(sql, [
      event(keyId, callId, {
        status: "failure",
        promptTokens: 0,
        completionTokens: 0,
        errorClass: "AuthenticationError",
        credential: "byok",
        credentialId: cred.body.credential.id,
      }),
    ]);
    const [row] = await sql<
      { revenue: bigint }[]
    >`select revenue_micros as revenue from usage_events where call_id = ${callId}`;
    expect(row!.revenue).toBe(0n);
    const [c] = await sql<{ status: string; last_error: string }[]>`
      select status, last_error from provider_credentials where id = ${cred.body.credential.id}`;
    expect(c).toMatchObject({ status: "invalid" });
    expect(c!.last_error).toContain("refused this key");

    // A 403 (a valid key refused a model its project may not use) is free and marks nothing: any member could
    // otherwise switch an organization's key off for everyone.
    const other = await store(dev, "", { provider: "anthropic", secret: secretOf("fine") });
    await settleUsage(sql, [
      event(keyId, `call-${randomUUID()}`, {
        status: "failure",
        promptTokens: 0,
        completionTokens: 0,
        errorClass: "PermissionDeniedError",
        credential: "byok",
        credentialId: other.body.credential.id,
      }),
    ]);
    const [kept] = await sql<{ status: string }[]>`
      select status from provider_credentials where id = ${other.body.credential.id}`;
    expect(kept!.status).toBe("active");
  });
});

describe("the plan's BYOK fee", () => {
  it("is set by admins in basis points (0–10,000, default 500) and shown with the owner's provider keys", async () => {
    const { POST } = await import("@/app/api/v1/plans/route");
    const name = `byok-plan-${randomBytes(3).toString("hex")}`;
    const created = await call(POST, { cookie: platformAdmin.cookie, body: { name, byokFeeBps: 250 } });
    expect(created.status).toBe(201);
    expect(created.body.plan.byokFeeBps).toBe(250);
    const defaulted = await call(POST, { cookie: platformAdmin.cookie, body: { name: `${name}-d` } });
    expect(defaulted.body.plan.byokFeeBps).toBe(500);
    for (const byokFeeBps of [-1, 10_001, 2.5, "500"])
      expect(
        (await call(POST, { cookie: platformAdmin.cookie, body: { name: `${name}-x`, byokFeeBps } })).status,
      ).toBe(422);
    const planId = created.body.plan.id;
    const dev = await person("feeshown");
    await sql`update users set plan_id = ${planId} where id = ${dev.id}`;
    const listed = await call((await listRoute()).GET, {
      path: "/api/v1/provider-credentials",
      cookie: dev.cookie,
    });
    expect(listed.body.byokFeeBps).toBe(250);
  });
});

describe("statements", () => {
  it("show BYOK calls as their own model lines, charged the fee", async () => {
    const { computeStatement } = await import("@/lib/statements/compute");
    const dev = await person("stmt");
    const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${dev.id}`;
    await fundAccount(sql, account!.id, 100_000_000n);
    const keyId = await insertKey(sql, dev.id);
    const units = { promptTokens: 12_345, completionTokens: 6_789 };
    // The three charges land at one moment (tollgate_now), so they are in one statement month whatever the date,
    // even at a month's last instant.
    const moment = new Date().toISOString();
    const clock = simulatedClock(sql, moment);
    await clock.at(moment, (db) => settleUsage(db, [event(keyId, `call-${randomUUID()}`, units)]));
    for (let i = 0; i < 2; i++) {
      await clock.at(moment, (db) =>
        settleUsage(db, [event(keyId, `call-${randomUUID()}`, { ...units, credential: "byok" })]),
      );
    }
    const statement = await computeStatement(sql, account!.id, moment.slice(0, 7));
    const lines = statement.chargesByModel.map((l) => [l.label, l.calls, l.amountMicros]);
    expect(lines).toEqual(
      expect.arrayContaining([
        ["fake-small", 1, -16_356n],
        ["fake-small · own provider key (BYOK fee)", 2, -2n * 818n],
      ]),
    );
  });
});
