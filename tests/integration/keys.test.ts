import { createHmac } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const PEPPER = process.env.KEY_PEPPER!;
const GATEWAY = { authorization: `Bearer ${process.env.GATEWAY_SECRET}` };
let admin: string;
let alice: string;
let bob: string;
let aliceId: string;

beforeAll(async () => {
  await insertUser(sql, { email: "admin@example.com", role: "admin" });
  aliceId = await insertUser(sql, { email: "alice@example.com" });
  await insertUser(sql, { email: "bob@example.com" });
  admin = await signIn("admin@example.com");
  alice = await signIn("alice@example.com");
  bob = await signIn("bob@example.com");
  await sql`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values ('fake-small', 'fake-small', 'fake', 1000, 100), ('fake-large', 'fake-large', 'fake', 1000, 100)`;
});

const keysRoute = () => import("@/app/api/v1/keys/route");
const keyRoute = () => import("@/app/api/v1/keys/[id]/route");
const verify = async (key: string) =>
  call((await import("@/app/api/internal/gateway/auth/route")).POST, { headers: GATEWAY, body: { key } });

async function create(cookie: string, body: Record<string, unknown>) {
  return call((await keysRoute()).POST, { cookie, body });
}

describe("API keys", () => {
  it("shows the secret once and stores only its peppered HMAC", async () => {
    const res = await create(alice, { name: "laptop", allowedModels: ["fake-small"], rpmLimit: 60 });
    expect(res.status).toBe(201);
    const { secret, key } = res.body;
    expect(secret).toMatch(/^tg_[\w-]{40}$/);
    expect(key).toMatchObject({
      name: "laptop",
      prefix: secret.slice(0, 11),
      status: "active",
      userId: aliceId,
    });
    expect(JSON.stringify(key)).not.toContain(secret);
    const [row] = await sql`select key_hash from api_keys where id = ${key.id}`;
    expect(Buffer.from(row!.key_hash).equals(createHmac("sha256", PEPPER).update(secret).digest())).toBe(
      true,
    );
    // Listing and reading never return it again.
    const list = await call((await keysRoute()).GET, { cookie: alice });
    expect(JSON.stringify(list.body)).not.toContain(secret);
    const [audit] =
      await sql`select after from audit_log where action = 'key.create' and target_id = ${key.id}`;
    expect(JSON.stringify(audit!.after)).not.toContain(secret);
  });

  it("the gateway check answers with the key's models and limits, and refuses what it should", async () => {
    const { body } = await create(alice, { name: "ci", allowedModels: ["fake-large"], tpmLimit: 5000 });
    const ok = await verify(body.secret);
    expect(ok.body).toMatchObject({
      valid: true,
      key: {
        id: body.key.id,
        userId: aliceId,
        allowedModels: ["fake-large"],
        tpmLimit: 5000,
        rpmLimit: null,
      },
    });
    expect((await verify("tg_doesNotExistdoesNotExistdoesNotExist")).body).toMatchObject({
      valid: false,
      reason: "unknown",
    });
    expect((await verify("sk-not-ours")).body).toMatchObject({ valid: false, reason: "unknown" });
    await call((await keyRoute()).DELETE, { method: "DELETE", cookie: alice, params: { id: body.key.id } });
    expect((await verify(body.secret)).body).toMatchObject({ valid: false, reason: "revoked" });
  });

  it("an empty allow-list means every enabled model, and disabling a model removes it", async () => {
    const { body } = await create(alice, { name: "all models" });
    expect((await verify(body.secret)).body.key.allowedModels).toEqual(["fake-large", "fake-small"]);
    await sql`update models set enabled = false where public_name = 'fake-large'`;
    expect((await verify(body.secret)).body.key.allowedModels).toEqual(["fake-small"]);
    await sql`update models set enabled = true where public_name = 'fake-large'`;
  });

  it("a developer cannot see, change or revoke someone else's key (404), nor issue one for them (403)", async () => {
    const { body } = await create(alice, { name: "private" });
    const { GET, PATCH, DELETE } = await keyRoute();
    expect((await call(GET, { cookie: bob, params: { id: body.key.id } })).status).toBe(404);
    expect(
      (await call(PATCH, { method: "PATCH", cookie: bob, params: { id: body.key.id }, body: { name: "x" } }))
        .status,
    ).toBe(404);
    expect((await call(DELETE, { method: "DELETE", cookie: bob, params: { id: body.key.id } })).status).toBe(
      404,
    );
    expect((await create(bob, { name: "for alice", userId: aliceId })).status).toBe(403);
    const bobsList = await call((await keysRoute()).GET, {
      cookie: bob,
      path: `/api/v1/keys?userId=${aliceId}`,
    });
    expect(bobsList.body.items.every((k: { userId: string }) => k.userId !== aliceId)).toBe(true);
    const [row] = await sql`select status, name from api_keys where id = ${body.key.id}`;
    expect(row).toEqual({ status: "active", name: "private" });
  });

  it("an admin issues a key for a developer, audited with the admin as actor", async () => {
    const res = await create(admin, { name: "issued", userId: aliceId });
    expect(res.status).toBe(201);
    expect(res.body.key.userId).toBe(aliceId);
    const [audit] = await sql`select a.actor_id, u.email from audit_log a join users u on u.id = a.actor_id
                              where a.action = 'key.create' and a.target_id = ${res.body.key.id}`;
    expect(audit!.email).toBe("admin@example.com");
  });

  it("rotation issues a new secret with the same settings and revokes the old key", async () => {
    const { body } = await create(alice, { name: "rotating", allowedModels: ["fake-small"], rpmLimit: 5 });
    const { POST } = await import("@/app/api/v1/keys/[id]/rotate/route");
    const rotated = await call(POST, { cookie: alice, params: { id: body.key.id } });
    expect(rotated.status).toBe(201);
    expect(rotated.body.secret).not.toBe(body.secret);
    expect(rotated.body.key).toMatchObject({
      name: "rotating",
      allowedModels: ["fake-small"],
      rpmLimit: 5,
      rotatedFrom: body.key.id,
    });
    expect((await verify(body.secret)).body.valid).toBe(false);
    expect((await verify(rotated.body.secret)).body.valid).toBe(true);
    // A revoked key cannot be rotated again.
    expect((await call(POST, { cookie: alice, params: { id: body.key.id } })).status).toBe(409);
  });

  it("refuses unknown models, past expiry and bad limits, writing nothing", async () => {
    const [before] = await sql`select count(*)::int as n from api_keys`;
    const cases = [
      { name: "x", allowedModels: ["gpt-unknown"] },
      { name: "x", expiresAt: "2001-01-01T00:00:00Z" },
      { name: "x", rpmLimit: 0 },
      { name: "x", rpmLimit: 1.5 },
      { name: "" },
      { name: "x", secret: "tg_mine" },
    ];
    for (const body of cases) {
      const res = await create(alice, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    const [after] = await sql`select count(*)::int as n from api_keys`;
    expect(after!.n).toBe(before!.n);
  });

  it("an expired key and a suspended owner's key are refused by the gateway check", async () => {
    const { body } = await create(alice, {
      name: "short-lived",
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect((await verify(body.secret)).body.valid).toBe(true);
    await sql`update api_keys set expires_at = now() - interval '1 second' where id = ${body.key.id}`;
    expect((await verify(body.secret)).body).toMatchObject({ valid: false, reason: "expired" });
    const other = await create(bob, { name: "bob's" });
    await sql`update users set status = 'suspended' where email = 'bob@example.com'`;
    expect((await verify(other.body.secret)).body).toMatchObject({ valid: false, reason: "owner_suspended" });
  });

  it("the gateway endpoint refuses a wrong secret and malformed bodies", async () => {
    const { POST } = await import("@/app/api/internal/gateway/auth/route");
    expect(
      (await call(POST, { headers: { authorization: "Bearer wrong" }, body: { key: "tg_x" } })).status,
    ).toBe(401);
    expect((await call(POST, { headers: GATEWAY, raw: "{" })).status).toBe(400);
    expect((await call(POST, { headers: GATEWAY, body: { key: 5 } })).status).toBe(422);
  });
});

describe("key budgets", () => {
  it("the key's owner and admins set them; nobody else", async () => {
    const { body } = await create(alice, { name: "budgeted" });
    const { PATCH } = await keyRoute();
    await insertUser(sql, { email: "carol@example.com" });
    const notCarols = await call(PATCH, {
      method: "PATCH",
      cookie: await signIn("carol@example.com"),
      params: { id: body.key.id },
      body: { dailyBudgetMicros: 5 },
    });
    expect(notCarols.status).toBe(404);
    const mine = await call(PATCH, {
      method: "PATCH",
      cookie: alice,
      params: { id: body.key.id },
      body: { dailyBudgetMicros: 5 },
    });
    expect(mine.status).toBe(200);
    expect(mine.body.key).toMatchObject({ dailyBudgetMicros: 5 });
    const set = await call(PATCH, {
      method: "PATCH",
      cookie: admin,
      params: { id: body.key.id },
      body: { dailyBudgetMicros: "2500000", monthlyBudgetMicros: 50_000_000 },
    });
    expect(set.status).toBe(200);
    expect(set.body.key).toMatchObject({ dailyBudgetMicros: 2_500_000, monthlyBudgetMicros: 50_000_000 });
  });
});
