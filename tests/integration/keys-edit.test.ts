// Editing a key after creation (issue 26, deliverable 7) and finding a call by its id (deliverable 8), on real
// PostgreSQL through the route handlers: what a person sends from the Edit dialog or the request log's search.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { settleUsage } from "@/lib/billing/settle";
import { accountOf, event, insertKey, seedPricedModel, topUp } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const GATEWAY = { authorization: `Bearer ${process.env.GATEWAY_SECRET}` };
const DAY = 86_400_000;

let adminId: string;
let aliceId: string;
let bobId: string;
const cookie = { admin: "", alice: "", bob: "" };

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  aliceId = await insertUser(sql, { email: "alice@example.com" });
  bobId = await insertUser(sql, { email: "bob@example.com" });
  cookie.admin = await signIn("admin@example.com");
  cookie.alice = await signIn("alice@example.com");
  cookie.bob = await signIn("bob@example.com");
  await seedPricedModel(sql, "fake-small");
  await seedPricedModel(sql, "fake-large");
});

afterAll(async () => {
  await sql.end();
});

const keysRoute = () => import("@/app/api/v1/keys/route");
const keyRoute = () => import("@/app/api/v1/keys/[id]/route");

/** A key of alice's made through the API, with its secret (for the gateway's auth answer). */
async function aliceKey(name = "edit me") {
  const res = await call((await keysRoute()).POST, { cookie: cookie.alice, body: { name } });
  expect(res.status).toBe(201);
  return res.body as { key: { id: string }; secret: string };
}

async function patch(who: keyof typeof cookie | null, id: string, body: unknown, raw?: string) {
  return call((await keyRoute()).PATCH, {
    method: "PATCH",
    cookie: who ? cookie[who] : undefined,
    params: { id },
    ...(raw === undefined ? { body } : { raw }),
  });
}

/** The row as stored and the number of audit entries about the key: what "nothing written" compares. */
async function stored(id: string) {
  const [row] = await sql`
    select name, allowed_models, rpm_limit, tpm_limit, expires_at, daily_budget_micros, monthly_budget_micros,
           status, updated_at from api_keys where id = ${id}`;
  const [audit] = await sql<{ n: bigint }[]>`select count(*) as n from audit_log where target_id = ${id}`;
  return { row, audits: Number(audit!.n) };
}

describe("PATCH /api/v1/keys/:id", () => {
  it("changes each field for the key's owner, exactly, and audits each change with before and after", async () => {
    const { key } = await aliceKey();
    const expires = new Date(Date.now() + 30 * DAY).toISOString();
    const steps: [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>][] = [
      [{ name: "  renamed  " }, { name: "renamed" }, { name: "renamed" }],
      [
        { allowedModels: ["fake-small"] },
        { allowedModels: ["fake-small"] },
        { allowed_models: ["fake-small"] },
      ],
      [{ rpmLimit: 60 }, { rpmLimit: 60 }, { rpm_limit: 60 }],
      [{ tpmLimit: 100_000 }, { tpmLimit: 100_000 }, { tpm_limit: 100_000 }],
      [{ expiresAt: expires }, { expiresAt: expires }, { expires_at: new Date(expires) }],
      // Money as the dialog sends it (a string of micro-USD digits) and as a JSON integer: both exact.
      [
        { dailyBudgetMicros: "2500000" },
        { dailyBudgetMicros: 2_500_000 },
        { daily_budget_micros: 2_500_000n },
      ],
      [
        { monthlyBudgetMicros: 9_007_199_254_740_991 },
        { monthlyBudgetMicros: 9_007_199_254_740_991 },
        { monthly_budget_micros: 9_007_199_254_740_991n },
      ],
      [{ dailyBudgetMicros: 0 }, { dailyBudgetMicros: 0 }, { daily_budget_micros: 0n }],
      // null takes a limit, a budget or the expiry away; an empty list allows every model of the plan again.
      [
        { rpmLimit: null, dailyBudgetMicros: null, expiresAt: null, allowedModels: [] },
        { rpmLimit: null, dailyBudgetMicros: null, expiresAt: null, allowedModels: [] },
        { rpm_limit: null, daily_budget_micros: null, expires_at: null, allowed_models: [] },
      ],
    ];
    for (const [body, answer, row] of steps) {
      const before = await stored(key.id);
      const res = await patch("alice", key.id, body);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.key).toMatchObject(answer);
      const after = await stored(key.id);
      expect(after.row).toMatchObject(row);
      expect(after.audits).toBe(before.audits + 1);
      const [audit] = await sql`
        select action, actor_id, before, after from audit_log
        where target_id = ${key.id} order by id desc limit 1`;
      expect(audit).toMatchObject({ action: "key.update", actor_id: aliceId });
      // The audit log keeps money exact, as strings of micro-USD digits.
      for (const [field, value] of Object.entries(answer)) {
        const exact = field.endsWith("Micros") && value !== null ? String(value) : value;
        expect(audit!.after[field], field).toEqual(exact);
      }
    }
    // Fields not sent keep their values: the name survives every later change.
    expect((await stored(key.id)).row!.name).toBe("renamed");
  });

  it("an admin edits anyone's key and is named in the audit log", async () => {
    const { key } = await aliceKey("admin edits");
    const res = await patch("admin", key.id, { dailyBudgetMicros: "1000000", name: "capped by admin" });
    expect(res.status).toBe(200);
    expect(res.body.key).toMatchObject({ dailyBudgetMicros: 1_000_000, name: "capped by admin" });
    const [audit] = await sql`
      select actor_id, before, after from audit_log where target_id = ${key.id} and action = 'key.update'`;
    expect(audit!.actor_id).toBe(adminId);
    expect(audit!.before.dailyBudgetMicros).toBeNull();
    expect(audit!.after.dailyBudgetMicros).toBe("1000000");
  });

  it.each<[string, unknown]>([
    ["a fractional micro-USD", { dailyBudgetMicros: 1.5 }],
    ["a negative budget", { dailyBudgetMicros: -1 }],
    ["a negative budget as a string", { monthlyBudgetMicros: "-5" }],
    ["dollars as a string", { dailyBudgetMicros: "2.50" }],
    ["a word", { dailyBudgetMicros: "five" }],
    ["an exponent", { dailyBudgetMicros: "1e6" }],
    ["hex", { dailyBudgetMicros: "0x10" }],
    ["a boolean", { monthlyBudgetMicros: true }],
    ["an array", { dailyBudgetMicros: [5] }],
    ["more than 2^53 − 1", { dailyBudgetMicros: "9007199254740992" }],
    ["a padded string", { dailyBudgetMicros: " 5" }],
    ["an RPM limit of 0", { rpmLimit: 0 }],
    ["a fractional TPM limit", { tpmLimit: 2.5 }],
    ["a limit as a string", { rpmLimit: "60" }],
    ["an empty name", { name: "   " }],
    ["an unknown model", { allowedModels: ["no-such-model"] }],
    ["an expiry in the past", { expiresAt: new Date(Date.now() - DAY).toISOString() }],
    ["an expiry without a zone", { expiresAt: "2030-01-01T00:00:00" }],
    ["an unknown field", { name: "x", status: "revoked" }],
    ["another owner", { userId: randomUUID() }],
    ["nothing to change", {}],
  ])("refuses %s with 422 and the error shape, writing nothing", async (_, body) => {
    const { key } = await aliceKey("bad input");
    await patch("alice", key.id, { dailyBudgetMicros: "700" });
    const before = await stored(key.id);
    const res = await patch("alice", key.id, body);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error).toMatchObject({ code: "validation_failed", message: expect.any(String) });
    expect(await stored(key.id)).toEqual(before);
  });

  it("refuses malformed JSON (400) and another media type (415), writing nothing", async () => {
    const { key } = await aliceKey("bad json");
    const before = await stored(key.id);
    const bad = await patch("alice", key.id, undefined, '{"dailyBudgetMicros": ');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_json");
    const text = await call((await keyRoute()).PATCH, {
      method: "PATCH",
      cookie: cookie.alice,
      params: { id: key.id },
      raw: "dailyBudgetMicros=5",
      contentType: "text/plain",
    });
    expect(text.status).toBe(415);
    expect(await stored(key.id)).toEqual(before);
  });

  it("a developer cannot edit another person's key (404: it is not theirs to know of), nor can anyone signed out", async () => {
    const { key } = await aliceKey("not bob's");
    const before = await stored(key.id);
    const bob = await patch("bob", key.id, { dailyBudgetMicros: "0", name: "hijacked" });
    expect(bob.status).toBe(404);
    expect(bob.body.error.code).toBe("not_found");
    const anonymous = await patch(null, key.id, { name: "hijacked" });
    expect(anonymous.status).toBe(401);
    // Cross-site: a cookie sent from another origin is refused before anything is read.
    const crossSite = await call((await keyRoute()).PATCH, {
      method: "PATCH",
      cookie: cookie.alice,
      origin: "https://evil.example",
      params: { id: key.id },
      body: { name: "hijacked" },
    });
    expect(crossSite.status).toBe(403);
    expect(await stored(key.id)).toEqual(before);
  });

  it("a revoked key cannot be changed (409)", async () => {
    const { key } = await aliceKey("revoked");
    await call((await keyRoute()).DELETE, { method: "DELETE", cookie: cookie.alice, params: { id: key.id } });
    const before = await stored(key.id);
    const res = await patch("alice", key.id, { dailyBudgetMicros: "5" });
    expect(res.status).toBe(409);
    expect(await stored(key.id)).toEqual(before);
  });

  it("a budget change reaches the gateway: its auth answer's lease epoch changes, so a lease under the old budget goes back", async () => {
    const { key, secret } = await aliceKey("epoch");
    const auth = async () =>
      call((await import("@/app/api/internal/gateway/auth/route")).POST, {
        headers: GATEWAY,
        body: { key: secret },
      });
    const before = await auth();
    expect(before.body.valid).toBe(true);
    expect((await patch("alice", key.id, { name: "epoch renamed" })).status).toBe(200);
    // A name is not money: the lease stays.
    expect((await auth()).body.key.leaseEpoch).toBe(before.body.key.leaseEpoch);
    expect((await patch("alice", key.id, { dailyBudgetMicros: "1000" })).status).toBe(200);
    const after = await auth();
    expect(after.body.key.leaseEpoch).not.toBe(before.body.key.leaseEpoch);
    expect((await patch("alice", key.id, { allowedModels: ["fake-small"] })).status).toBe(200);
    const third = await auth();
    expect(third.body.key.leaseEpoch).not.toBe(after.body.key.leaseEpoch);
    expect(third.body.key.allowedModels).toEqual(["fake-small"]);
  });

  it("a key budget set below what is already reserved refuses the next reservation (429, the platform's sentence)", async () => {
    const keyId = await insertKey(sql, aliceId);
    await topUp(sql, adminId, (await accountOf(sql, aliceId)).id, 5_000_000n);
    // A call in progress holds its worst case on the key's budget counter.
    await placeHold(sql, {
      keyId,
      callId: randomUUID(),
      nonce: randomUUID(),
      model: "fake-small",
      promptTokens: 1000,
      maxOutputTokens: 1000,
    });
    const res = await patch("alice", keyId, { dailyBudgetMicros: "1000" });
    expect(res.status).toBe(200);
    expect(res.body.key.todaySpentMicros).toBeGreaterThan(1000);
    await expect(
      placeHold(sql, {
        keyId,
        callId: randomUUID(),
        nonce: randomUUID(),
        model: "fake-small",
        promptTokens: 10,
        maxOutputTokens: 10,
      }),
    ).rejects.toMatchObject({
      code: "budget_exceeded",
      message: expect.stringMatching(/^This key's budget would be exceeded: .*of \$0\.001000 used/),
    });
  });
});

describe("GET /api/v1/keys filters from links", () => {
  it("?keyId= is one key; ?userId= one user's keys for admins, and never another's for a developer", async () => {
    const { key } = await aliceKey("linked");
    const { GET } = await keysRoute();
    const one = await call(GET, { cookie: cookie.admin, path: `/?keyId=${key.id}` });
    expect(one.body.items.map((k: { id: string }) => k.id)).toEqual([key.id]);
    const alices = await call(GET, { cookie: cookie.admin, path: `/?userId=${aliceId}` });
    expect(alices.body.items.length).toBeGreaterThan(1);
    expect(alices.body.items.every((k: { userId: string }) => k.userId === aliceId)).toBe(true);
    const bobAsksForAlices = await call(GET, { cookie: cookie.bob, path: `/?userId=${aliceId}` });
    expect(bobAsksForAlices.body.items.every((k: { userId: string }) => k.userId === bobId)).toBe(true);
    const bobAsksForAliceKey = await call(GET, { cookie: cookie.bob, path: `/?keyId=${key.id}` });
    expect(bobAsksForAliceKey.body.items).toEqual([]);
    expect((await call(GET, { cookie: cookie.admin, path: "/?keyId=nope" })).status).toBe(422);
  });
});

describe("the request log's search by call id", () => {
  const calls = { alice: [] as string[], bob: [] as string[] };
  let oldAliceCall: string;

  beforeAll(async () => {
    for (const [who, userId] of [
      ["alice", aliceId],
      ["bob", bobId],
    ] as const) {
      const keyId = await insertKey(sql, userId);
      await topUp(sql, adminId, (await accountOf(sql, userId)).id, 10_000_000n);
      for (let i = 0; i < 3; i++) {
        const callId = randomUUID();
        calls[who].push(callId);
        await placeHold(sql, {
          keyId,
          callId,
          nonce: randomUUID(),
          model: "fake-small",
          promptTokens: 100,
          maxOutputTokens: 100,
        });
        await settleUsage(sql, [event(keyId, callId)]);
      }
    }
    // A call from 40 days ago: outside the log's default 7 days, still found by its id.
    const keyId = await insertKey(sql, aliceId);
    oldAliceCall = randomUUID();
    const at = new Date(Date.now() - 40 * DAY).toISOString();
    await settleUsage(sql, [event(keyId, oldAliceCall, { startedAt: at, endedAt: at })]);
  });

  const requests = () => import("@/app/api/v1/requests/route");
  const myRequests = () => import("@/app/api/v1/me/requests/route");
  const myExport = () => import("@/app/api/v1/me/requests/export/route");
  const ids = (body: { items: { callId: string }[] }) => body.items.map((r) => r.callId).sort();

  it("an admin finds a call by its whole id, in any case, and by its first characters", async () => {
    const { GET } = await requests();
    const target = calls.bob[1]!;
    const exact = await call(GET, { cookie: cookie.admin, path: `/?callId=${target}` });
    expect(exact.status).toBe(200);
    expect(ids(exact.body)).toEqual([target]);
    const upper = await call(GET, { cookie: cookie.admin, path: `/?callId=${target.toUpperCase()}` });
    expect(ids(upper.body)).toEqual([target]);
    const prefix = target.slice(0, 13);
    const byPrefix = await call(GET, { cookie: cookie.admin, path: `/?callId=${prefix}` });
    expect(ids(byPrefix.body)).toEqual([target]);
    // Shorter is refused: a gateway id's first 13 characters are its millisecond (docs/adr/0028), so fewer name a
    // stretch of every account's calls rather than a call.
    const short = await call(GET, { cookie: cookie.admin, path: `/?callId=${target.slice(0, 12)}` });
    expect(short.status).toBe(422);
    expect(short.body.error.code).toBe("validation_failed");
    // The search keeps the other filters: bob's call is not alice's.
    const wrongUser = await call(GET, { cookie: cookie.admin, path: `/?callId=${target}&userId=${aliceId}` });
    expect(wrongUser.body.items).toEqual([]);
    const old = await call(GET, { cookie: cookie.admin, path: `/?callId=${oldAliceCall}` });
    expect(ids(old.body)).toEqual([oldAliceCall]);
    // Without the id, the default range (7 days) leaves it out.
    const recent = await call(GET, { cookie: cookie.admin, path: `/?userId=${aliceId}` });
    expect(ids(recent.body)).not.toContain(oldAliceCall);
  });

  it.each([
    ["too short", "abc"],
    ["not hex", "zzzzzzzz"],
    ["a LIKE wildcard", "abcd%"],
    ["an underscore", "abcd_"],
    ["a quote", "abcd'--"],
    ["longer than an id", `${randomUUID()}0`],
    ["empty", ""],
  ])("refuses a call id that is %s (422, nothing searched)", async (_, value) => {
    const { GET } = await requests();
    const res = await call(GET, { cookie: cookie.admin, path: `/?callId=${encodeURIComponent(value)}` });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
  });

  it("a developer searching another person's call id finds nothing, by whole id or prefix, in the log and the export", async () => {
    const { GET } = await myRequests();
    for (const other of calls.bob) {
      for (const search of [other, other.slice(0, 13)]) {
        const res = await call(GET, { cookie: cookie.alice, path: `/?callId=${search}` });
        expect(res.status).toBe(200);
        expect(ids(res.body).filter((id) => calls.bob.includes(id))).toEqual([]);
      }
    }
    const own = await call(GET, { cookie: cookie.alice, path: `/?callId=${calls.alice[0]}` });
    expect(ids(own.body)).toEqual([calls.alice[0]]);
    // The admin's own "My calls" is scoped the same way.
    const adminOwn = await call(GET, { cookie: cookie.admin, path: `/?callId=${calls.bob[0]}` });
    expect(adminOwn.body.items).toEqual([]);
    // The admin route stays closed to developers.
    expect(
      (await call((await requests()).GET, { cookie: cookie.alice, path: `/?callId=${calls.bob[0]}` })).status,
    ).toBe(403);
    const csv = await call((await myExport()).GET, {
      cookie: cookie.alice,
      path: `/?callId=${calls.bob[0]}`,
    });
    expect(csv.status).toBe(200);
    expect(String(csv.body).trim().split("\r\n")).toHaveLength(1);
    const mine = await call((await myExport()).GET, {
      cookie: cookie.alice,
      path: `/?callId=${calls.alice[2]}`,
    });
    const lines = String(mine.body).trim().split("\r\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(calls.alice[2]);
  });
});
