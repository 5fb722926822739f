// The outside review's platform findings, replayed on real PostgreSQL through the route handlers: provider cost
// leaking to developers, coerced money fields, CSRF on cookie-authenticated mutations, NUL characters.
import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
let admin: string;
let developer: string;
let developerId: string;
let accountId: string;
let keyId: string;
let modelId: string;

const credits = () => import("@/app/api/v1/accounts/[id]/credits/route");
const account = () => import("@/app/api/v1/accounts/[id]/route");
const usage = () => import("@/app/api/v1/accounts/[id]/usage/route");
const daily = () => import("@/app/api/v1/accounts/[id]/daily/route");
const prices = () => import("@/app/api/v1/prices/route");
const keys = () => import("@/app/api/v1/keys/route");
const key = () => import("@/app/api/v1/keys/[id]/route");
const rotate = () => import("@/app/api/v1/keys/[id]/rotate/route");
const users = () => import("@/app/api/v1/users/route");
const logout = () => import("@/app/api/auth/logout/route");
const me = () => import("@/app/api/v1/me/route");

beforeAll(async () => {
  await insertUser(sql, { email: "admin@example.com", role: "admin" });
  developerId = await insertUser(sql, { email: "dev@example.com" });
  admin = await signIn("admin@example.com");
  developer = await signIn("dev@example.com");
  const [a] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${developerId}`;
  accountId = a!.id;
  const [m] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values ('fake-small', 'fake-small', 'fake', 16384, 4096) returning id`;
  modelId = m!.id;
  const [k] = await sql<{ id: string }[]>`
    insert into api_keys (user_id, name, prefix, key_hash)
    values (${developerId}, 'review', 'tg_review0', ${Buffer.from("review".padEnd(32, "x"))}) returning id`;
  keyId = k!.id;
  // One charged call with a provider cost, as settlement records it.
  await sql`
    insert into usage_events (key_id, call_id, account_id, model_id, model_group, status, prompt_tokens,
                              completion_tokens, started_at, ended_at, cost_micros, revenue_micros)
    values (${keyId}, 'call-1', ${accountId}, ${modelId}, 'fake-small', 'success', 100, 50,
            now(), now(), 75, 125)`;
});

async function ledgerCount() {
  const [row] = await sql<{ n: bigint }[]>`select count(*) as n from ledger_entries`;
  return row!.n;
}

/** Every key of a JSON value, at any depth. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]);
  return [];
}

describe("provider cost and margin are for admins only", () => {
  it("a developer's usage and daily spend carry the charge but no cost", async () => {
    for (const handler of [usage, daily]) {
      const { GET } = await handler();
      const mine = await call(GET, { cookie: developer, params: { id: accountId } });
      expect(mine.status).toBe(200);
      expect(JSON.stringify(mine.body)).toContain("revenueMicros");
      expect(keysOf(mine.body).filter((k) => /cost|margin/i.test(k))).toEqual([]);
      const theirs = await call(GET, { cookie: admin, params: { id: accountId } });
      expect(keysOf(theirs.body)).toContain("costMicros");
    }
    const { GET } = await usage();
    const row = (await call(GET, { cookie: admin, params: { id: accountId } })).body.items[0];
    expect([row.costMicros, row.revenueMicros]).toEqual([75, 125]);
  });

  it("the price book shows developers sell prices only", async () => {
    await sql`
      insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros, output_price_micros)
      values (${modelId}, now() - interval '1 hour', 300000, 900000, 500000, 1500000)`;
    const { GET } = await prices();
    const res = await call(GET, { cookie: developer });
    expect(res.body.items).toHaveLength(1);
    expect(keysOf(res.body).filter((k) => /cost|margin/i.test(k))).toEqual([]);
  });
});

describe("money fields take a JSON integer or a string of digits, nothing else", () => {
  const credit = (amountMicros: unknown, kind = "topup") => ({
    amountMicros,
    kind,
    reason: "review test",
    idempotencyKey: `idem-${Math.random()}`,
  });

  it.each([
    ["0x10"],
    [true],
    [[5]],
    [1.5],
    ["1e3"],
    [" 5"],
    ["5 "],
    ["+5"],
    ["05"],
    [""],
    [null],
    [{ value: 5 }],
    [2 ** 53],
    ["9007199254740992"],
    ["-0x1"],
  ])("a credit of %j is refused (422) and writes nothing", async (amount) => {
    const before = await ledgerCount();
    const { POST } = await credits();
    const res = await call(POST, { cookie: admin, params: { id: accountId }, body: credit(amount) });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(await ledgerCount()).toBe(before);
  });

  it("integers and digit strings are credited exactly; a minus only for adjustments", async () => {
    const { POST } = await credits();
    const credit_ = (amount: unknown, kind = "topup") =>
      call(POST, { cookie: admin, params: { id: accountId }, body: credit(amount, kind) });
    for (const amount of [5_000_000, "2500000"])
      expect((await credit_(amount)).status, String(amount)).toBe(201);
    const balance = async () =>
      (await sql<{ b: bigint }[]>`select balance_micros as b from accounts where id = ${accountId}`)[0]!.b;
    expect(await balance()).toBe(7_500_000n);
    expect((await credit_("-5")).status).toBe(422);
    expect((await credit_("-7500000", "adjustment")).status).toBe(201);
    // The largest amount JSON carries exactly, to the micro-USD, and back out in an answer.
    expect((await credit_("9007199254740991")).status).toBe(201);
    const { GET } = await account();
    const shown = await call(GET, { cookie: admin, params: { id: accountId } });
    expect(shown.body.account.balanceMicros).toBe(9_007_199_254_740_991);
    // One micro-USD more would not be exact any more: refused, nothing written.
    const before = await ledgerCount();
    const over = await credit_(1);
    expect(over.status).toBe(422);
    expect(over.body.error.message).toMatch(/\$9,007,199,254\.740991/);
    expect(await ledgerCount()).toBe(before);
    expect((await credit_("-9007199254740991", "adjustment")).status).toBe(201);
    expect(await balance()).toBe(0n);
  });

  it("budgets and prices use the same rule", async () => {
    const { PATCH } = await account();
    for (const bad of ["0x10", true, 1.5, "-1", -1])
      expect(
        (await call(PATCH, { cookie: admin, params: { id: accountId }, body: { dailyBudgetMicros: bad } }))
          .status,
      ).toBe(422);
    const ok = await call(PATCH, {
      cookie: admin,
      params: { id: accountId },
      body: { dailyBudgetMicros: "1000000" },
    });
    expect(ok.status).toBe(200);
    const { PATCH: patchKey } = await key();
    expect(
      (await call(patchKey, { cookie: admin, params: { id: keyId }, body: { monthlyBudgetMicros: "0x10" } }))
        .status,
    ).toBe(422);
    const { POST } = await prices();
    const price = {
      modelId,
      inputCostMicros: 1,
      outputCostMicros: 1,
      inputPriceMicros: "true",
      outputPriceMicros: 1,
    };
    expect((await call(POST, { cookie: admin, body: price })).status).toBe(422);
  });
});

describe("cookie-authenticated mutations refuse other origins (CSRF)", () => {
  const mutations = [
    { name: "create a key", handler: keys, method: "POST", body: { name: "csrf" } },
    { name: "rotate a key", handler: rotate, method: "POST", params: () => ({ id: keyId }) },
    { name: "revoke a key", handler: key, method: "DELETE", params: () => ({ id: keyId }) },
    { name: "create a user", handler: users, method: "POST", admin: true },
    { name: "credit an account", handler: credits, method: "POST", admin: true },
  ] as const;

  async function state() {
    const [row] = await sql<{ keys: bigint; active: string; users: bigint; audit: bigint }[]>`
      select (select count(*) from api_keys) as keys, (select status from api_keys where id = ${keyId}) as active,
             (select count(*) from users) as users, (select count(*) from audit_log) as audit`;
    return { ...row!, ledger: await ledgerCount() };
  }

  it.each(
    mutations.flatMap((m) => [
      { ...m, origin: "http://evil.example" as string | null },
      { ...m, origin: "http://localhost:4999" as string | null },
      { ...m, origin: null },
    ]),
  )("$name from origin $origin is refused with 403 and changes nothing", async (m) => {
    const before = await state();
    const mod = await m.handler();
    const handler = (mod as Record<string, Parameters<typeof call>[0]>)[m.method]!;
    const res = await call(handler, {
      method: m.method,
      cookie: "admin" in m ? admin : developer,
      origin: m.origin,
      params: "params" in m ? m.params() : { id: accountId },
      body: "body" in m ? m.body : { email: "x@example.com", amountMicros: 5 },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("cross_site_request");
    expect(await state()).toEqual(before);
  });

  it("a form-encoded rotate from our own origin is refused too (JSON bodies only)", async () => {
    const { POST } = await rotate();
    const res = await call(POST, {
      cookie: developer,
      params: { id: keyId },
      raw: "x=1",
      contentType: "application/x-www-form-urlencoded",
    });
    expect(res.status).toBe(415);
    const [row] = await sql<{ status: string }[]>`select status from api_keys where id = ${keyId}`;
    expect(row!.status).toBe("active");
  });

  it("logout from another origin does not end the session; from ours it does", async () => {
    const cookie = await signIn("dev@example.com");
    const { POST } = await logout();
    expect((await call(POST, { method: "POST", cookie, origin: "http://evil.example" })).status).toBe(403);
    expect((await call(POST, { method: "POST", cookie, origin: null })).status).toBe(403);
    const { GET } = await me();
    expect((await call(GET, { cookie })).status).toBe(200);
    expect((await call(POST, { method: "POST", cookie })).status).toBe(200);
    expect((await call(GET, { cookie })).status).toBe(401);
  });

  it("the loopback twin of the dashboard's origin is accepted (localhost ↔ 127.0.0.1, same port)", async () => {
    const { POST } = await keys();
    const res = await call(POST, {
      cookie: developer,
      origin: "http://127.0.0.1:3000",
      body: { name: "twin" },
    });
    expect(res.status).toBe(201);
  });
});

describe("text with a NUL character is a 422, not a 500", () => {
  it("in a key name, a user name or a query", async () => {
    const before = await sql`select count(*) as n from api_keys`;
    const { POST } = await keys();
    const res = await call(POST, { cookie: developer, body: { name: "bad\u0000name" } });
    expect(res.status).toBe(422);
    expect(res.body.error.issues[0].path).toBe("name");
    expect(await sql`select count(*) as n from api_keys`).toEqual(before);
    const { POST: createUser } = await users();
    const user = await call(createUser, {
      cookie: admin,
      body: {
        email: "nul@example.com",
        name: "a\u0000b",
        role: "developer",
        password: "long-enough-password",
      },
    });
    expect(user.status).toBe(422);
    const { GET } = await keys();
    expect((await call(GET, { cookie: admin, path: "/api/v1/keys?q=a%00b" })).status).toBe(422);
  });
});
