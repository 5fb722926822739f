// Bad input gets a 4xx in the error contract and writes nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "@/lib/http/body";
import { createTestDatabase } from "../helpers/db";
import { type CallOptions, call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
let admin: string;
let developerId: string;
let developer: string;
let appKey: string;
let conversationId: string;

beforeAll(async () => {
  await insertUser(sql, { email: "admin@example.com", role: "admin" });
  developerId = await insertUser(sql, { email: "dev@example.com" });
  admin = await signIn("admin@example.com");
  developer = await signIn("dev@example.com");
  const key = await call((await import("@/app/api/v1/keys/route")).POST, {
    cookie: developer,
    body: { name: "app" },
  });
  expect(key.status, JSON.stringify(key.body)).toBe(201);
  appKey = key.body.secret;
  const [conversation] = await sql<{ id: string }[]>`
    insert into playground_conversations (user_id, title) values (${developerId}, 'saved') returning id`;
  conversationId = conversation!.id;
});

async function counts() {
  const [row] = await sql<{ users: bigint; audit: bigint; devrole: string; devname: string }[]>`
    select (select count(*) from users) as users, (select count(*) from audit_log) as audit,
           (select role from users where id = ${developerId}) as devrole,
           (select name from users where id = ${developerId}) as devname`;
  return row!;
}

interface BadCase {
  name: string;
  route: "users" | "user" | "login";
  method: "POST" | "PATCH";
  options: () => CallOptions;
  status: number;
  code: string;
}

const cases: BadCase[] = [
  {
    name: "malformed JSON",
    route: "users",
    method: "POST",
    options: () => ({ raw: '{"email": "x@y.z",' }),
    status: 400,
    code: "invalid_json",
  },
  {
    name: "wrong content type",
    route: "users",
    method: "POST",
    options: () => ({ raw: "email=x@y.z", contentType: "application/x-www-form-urlencoded" }),
    status: 415,
    code: "unsupported_media_type",
  },
  {
    name: "wrong types",
    route: "users",
    method: "POST",
    options: () => ({ body: { email: 42, role: ["admin"], password: true } }),
    status: 422,
    code: "validation_failed",
  },
  {
    name: "unknown role",
    route: "users",
    method: "POST",
    options: () => ({ body: { email: "a@example.com", role: "root", password: "a-long-enough-password" } }),
    status: 422,
    code: "validation_failed",
  },
  {
    name: "unknown fields",
    route: "users",
    method: "POST",
    options: () => ({
      body: { email: "b@example.com", role: "developer", password: "a-long-enough-password", isAdmin: true },
    }),
    status: 422,
    code: "validation_failed",
  },
  {
    name: "short password",
    route: "users",
    method: "POST",
    options: () => ({ body: { email: "c@example.com", role: "developer", password: "short" } }),
    status: 422,
    code: "validation_failed",
  },
  {
    name: "missing password (local auth)",
    route: "users",
    method: "POST",
    options: () => ({ body: { email: "d@example.com", role: "developer" } }),
    status: 422,
    code: "validation_failed",
  },
  {
    name: "oversized body",
    route: "users",
    method: "POST",
    options: () => ({
      body: {
        email: "e@example.com",
        role: "developer",
        password: "a-long-enough-password",
        name: "x".repeat(100_000),
      },
    }),
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "JSON array instead of object",
    route: "users",
    method: "POST",
    options: () => ({ raw: "[]" }),
    status: 422,
    code: "validation_failed",
  },
  {
    name: "PATCH unknown field",
    route: "user",
    method: "PATCH",
    options: () => ({ params: { id: developerId }, body: { role: "admin", password: "x" } }),
    status: 422,
    code: "validation_failed",
  },
  {
    name: "PATCH empty object",
    route: "user",
    method: "PATCH",
    options: () => ({ params: { id: developerId }, body: {} }),
    status: 422,
    code: "validation_failed",
  },
  {
    name: "PATCH bad status",
    route: "user",
    method: "PATCH",
    options: () => ({ params: { id: developerId }, body: { status: "deleted" } }),
    status: 422,
    code: "validation_failed",
  },
  {
    name: "PATCH non-uuid id",
    route: "user",
    method: "PATCH",
    options: () => ({ params: { id: "1 or 1=1" }, body: { role: "admin" } }),
    status: 404,
    code: "not_found",
  },
  {
    name: "PATCH unknown user",
    route: "user",
    method: "PATCH",
    options: () => ({ params: { id: "00000000-0000-4000-8000-000000000000" }, body: { role: "admin" } }),
    status: 404,
    code: "not_found",
  },
  {
    name: "login malformed JSON",
    route: "login",
    method: "POST",
    options: () => ({ raw: "{" }),
    status: 400,
    code: "invalid_json",
  },
  {
    name: "login unknown field",
    route: "login",
    method: "POST",
    options: () => ({ body: { email: "dev@example.com", password: "x", remember: true } }),
    status: 422,
    code: "validation_failed",
  },
];

describe("bad input", () => {
  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}, nothing written`, async () => {
      const before = await counts();
      const mod =
        c.route === "users"
          ? await import("@/app/api/v1/users/route")
          : c.route === "user"
            ? await import("@/app/api/v1/users/[id]/route")
            : await import("@/app/api/auth/login/route");
      const handler = (mod as Record<string, unknown>)[c.method] as Parameters<typeof call>[0];
      const res = await call(handler, { method: c.method, cookie: admin, ...c.options() });
      expect(res.status).toBe(c.status);
      expect(res.body).toEqual({
        error: expect.objectContaining({ code: c.code, message: expect.any(String) }),
      });
      if (c.code === "validation_failed") expect(res.body.error.issues.length).toBeGreaterThan(0);
      expect(await counts()).toEqual(before);
    });
  }

  it("names the offending field in a validation error", async () => {
    const { POST } = await import("@/app/api/v1/users/route");
    const res = await call(POST, {
      cookie: admin,
      body: { email: "not-an-email", role: "developer", password: "a-long-enough-password" },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.issues).toEqual([expect.objectContaining({ path: "email" })]);
  });
});

describe("audit_log is append-only", () => {
  it("refuses UPDATE, DELETE and TRUNCATE", async () => {
    await sql`insert into audit_log (actor_kind, action, target_type) values ('system', 'test.entry', 'test')`;
    await expect(sql`update audit_log set action = 'tampered'`).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_log`).rejects.toThrow(/append-only/);
    const [row] = await sql`select count(*)::int as n from audit_log where action = 'test.entry'`;
    expect(row!.n).toBe(1);
  });
});

// Issue 22: inputs that were 500s (or a dropped connection) are 4xx in the error contract and write nothing.

/** Rows of every table a request of these routes could write, and the saved conversation's content. */
async function writes() {
  const tables = [
    "users",
    "sessions",
    "audit_log",
    "api_keys",
    "login_attempts",
    "playground_conversations",
    "ledger_transactions",
    "usage_events",
    "redemption_codes",
  ];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`;
    counts[table] = row!.n;
  }
  const [saved] = await sql`
    select title, settings, messages from playground_conversations where id = ${conversationId}`;
  return { counts, saved };
}

/** JSON text nested `depth` levels deep: arrays inside arrays. */
const nestedArrays = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const SETTINGS = { model: "fake-small", system: "", temperature: "1", topP: "1", maxTokens: "16" };
const userText = (text: string) => [{ id: "m1", role: "user", parts: [{ type: "text", text }] }];
const chatWith = (part: unknown) => ({
  model: "fake-small",
  messages: [{ id: "m1", role: "user", parts: [part] }],
});

type Caller = "anonymous" | "admin" | "developer" | "app";
interface InputCase {
  name: string;
  load: () => Promise<Record<string, unknown>>;
  method: "GET" | "POST" | "PATCH";
  as: Caller;
  options: () => CallOptions;
  status: number;
  code: string;
  /** The field named in the first issue (422s). */
  path?: string;
}

/** Each route (as its caller) with each query whose date lies outside 2000–2099: a 422 naming the field. */
function datesOutOfRange(
  routes: [string, InputCase["load"], Caller][],
  queries: [string, "from" | "to"][],
): InputCase[] {
  return routes.flatMap(([route, load, as]) =>
    queries.map(([query, path]) => ({
      name: `${route}?${query}`,
      load,
      method: "GET" as const,
      as,
      options: () => ({ path: `/x?${query}` }),
      status: 422,
      code: "validation_failed",
      path,
    })),
  );
}

const login = () => import("@/app/api/auth/login/route");
const users = () => import("@/app/api/v1/users/route");
const conversations = () => import("@/app/api/v1/playground/conversations/route");
const conversation = () => import("@/app/api/v1/playground/conversations/[id]/route");
const chat = () => import("@/app/api/v1/playground/chat/route");

const inputCases: InputCase[] = [
  // 1. Depth: refused at the one body reader, before any schema walks it.
  {
    name: "login, a body of arrays nested 3,000 deep (signed out)",
    load: login,
    method: "POST",
    as: "anonymous",
    options: () => ({ raw: nestedArrays(3000) }),
    status: 400,
    code: "bad_request",
  },
  {
    name: "login, objects nested 1,300 deep (signed out)",
    load: login,
    method: "POST",
    as: "anonymous",
    options: () => ({ raw: `${'{"a":'.repeat(1300)}1${"}".repeat(1300)}` }),
    status: 400,
    code: "bad_request",
  },
  {
    name: "create user, a field nested 3,000 deep",
    load: users,
    method: "POST",
    as: "admin",
    options: () => ({
      raw: `{"email":"deep@example.com","role":"developer","password":"a-long-enough-password","name":${nestedArrays(3000)}}`,
    }),
    status: 400,
    code: "bad_request",
  },
  {
    name: `create user, a field one level past the limit (${MAX_JSON_DEPTH + 1} in all)`,
    load: users,
    method: "POST",
    as: "admin",
    options: () => ({
      raw: `{"email":"deep@example.com","role":"developer","password":"a-long-enough-password","name":${nestedArrays(MAX_JSON_DEPTH)}}`,
    }),
    status: 400,
    code: "bad_request",
  },
  {
    name: `create user, a field at the limit (${MAX_JSON_DEPTH} in all): the schema judges it`,
    load: users,
    method: "POST",
    as: "admin",
    options: () => ({
      raw: `{"email":"deep@example.com","role":"developer","password":"a-long-enough-password","name":${nestedArrays(MAX_JSON_DEPTH - 1)}}`,
    }),
    status: 422,
    code: "validation_failed",
    path: "name",
  },
  {
    name: "save a conversation, messages nested 20,000 deep",
    load: conversations,
    method: "POST",
    as: "developer",
    options: () => ({ raw: `{"settings":{},"messages":${nestedArrays(20_000)}}` }),
    status: 400,
    code: "bad_request",
  },
  // 2. Lone surrogates: refused for every JSON body, with the field.
  {
    name: "save a conversation, a lone surrogate in a message",
    load: conversations,
    method: "POST",
    as: "developer",
    options: () => ({ body: { settings: SETTINGS, messages: userText("a\ud800b") } }),
    status: 422,
    code: "validation_failed",
    path: "messages.0.parts.0.text",
  },
  {
    name: "save a conversation, a lone (low) surrogate in the settings",
    load: conversations,
    method: "POST",
    as: "developer",
    options: () => ({ body: { settings: { ...SETTINGS, system: "\udc00" } } }),
    status: 422,
    code: "validation_failed",
    path: "settings.system",
  },
  {
    name: "save a conversation, a lone surrogate in a key",
    load: conversations,
    method: "POST",
    as: "developer",
    options: () => ({ raw: '{"settings":{"\\ud800":"x"}}' }),
    status: 422,
    code: "validation_failed",
    path: "settings.(key)",
  },
  {
    name: "edit a saved conversation, a lone surrogate in a message",
    load: conversation,
    method: "PATCH",
    as: "developer",
    options: () => ({ params: { id: conversationId }, body: { messages: userText("\ud83d") } }),
    status: 422,
    code: "validation_failed",
    path: "messages.0.parts.0.text",
  },
  {
    name: "edit a saved conversation, a lone surrogate in the settings",
    load: conversation,
    method: "PATCH",
    as: "developer",
    options: () => ({
      params: { id: conversationId },
      body: { settings: { ...SETTINGS, model: "x\ud800" } },
    }),
    status: 422,
    code: "validation_failed",
    path: "settings.model",
  },
  {
    name: "login, a lone surrogate in the email (signed out)",
    load: login,
    method: "POST",
    as: "anonymous",
    options: () => ({ body: { email: "\ud800@example.com", password: "x" } }),
    status: 422,
    code: "validation_failed",
    path: "email",
  },
  {
    name: "playground chat, a lone surrogate in a message",
    load: chat,
    method: "POST",
    as: "developer",
    options: () => ({ body: chatWith({ type: "text", text: "\ud800" }) }),
    status: 422,
    code: "validation_failed",
    path: "messages.0.parts.0.text",
  },
  // 3. Playground chat: only the message parts the playground writes.
  ...(
    [
      ["an image part", { type: "image", image: "https://example.com/a.png" }, "messages.0.parts.0.type"],
      ["a file part", { type: "file", mediaType: "image/png", url: "not a url" }, "messages.0.parts.0.type"],
      [
        "a tool part",
        { type: "tool-search", toolCallId: "t", state: "output-available" },
        "messages.0.parts.0.type",
      ],
      ["a steering-message part", { type: "steering-message" }, "messages.0.parts.0.type"],
      ["a data part", { type: "data-x", data: 1 }, "messages.0.parts.0.type"],
      ["a text part without text", { type: "text" }, "messages.0.parts.0.text"],
      ["a part without a type", { text: "hi" }, "messages.0.parts.0.type"],
      ["a null part", null, "messages.0.parts.0"],
    ] as const
  ).map(
    ([what, part, path]): InputCase => ({
      name: `playground chat, ${what}`,
      load: chat,
      method: "POST",
      as: "developer",
      options: () => ({ body: chatWith(part) }),
      status: 422,
      code: "validation_failed",
      path,
    }),
  ),
  {
    name: "save a conversation, an unknown part type",
    load: conversations,
    method: "POST",
    as: "developer",
    options: () => ({
      body: { settings: SETTINGS, messages: [{ id: "m", role: "user", parts: [{ type: "image" }] }] },
    }),
    status: 422,
    code: "validation_failed",
    path: "messages.0.parts.0.type",
  },
  // 4. Dates outside the years 2000–2099, on every route that takes them.
  ...datesOutOfRange(
    [
      ["GET /api/v1/key/usage", () => import("@/app/api/v1/key/usage/route"), "app"],
      ["GET /api/v1/analytics/usage", () => import("@/app/api/v1/analytics/usage/route"), "admin"],
      ["GET /api/v1/analytics/options", () => import("@/app/api/v1/analytics/options/route"), "admin"],
      ["GET /api/v1/me/analytics/usage", () => import("@/app/api/v1/me/analytics/usage/route"), "developer"],
      ["GET /api/v1/requests", () => import("@/app/api/v1/requests/route"), "admin"],
      ["GET /api/v1/requests/export", () => import("@/app/api/v1/requests/export/route"), "admin"],
      ["GET /api/v1/me/requests/export", () => import("@/app/api/v1/me/requests/export/route"), "developer"],
      ["GET /api/v1/audit", () => import("@/app/api/v1/audit/route"), "admin"],
    ],
    [
      ["from=0000-01-01", "from"],
      ["to=9999-12-31", "to"],
      ["from=1999-12-31&to=2000-01-02", "from"],
      ["from=2099-12-01&to=2100-01-01", "to"],
    ],
  ),
  // …and as instants, where a route takes them.
  ...datesOutOfRange(
    [
      ["GET /api/v1/analytics/usage", () => import("@/app/api/v1/analytics/usage/route"), "admin"],
      ["GET /api/v1/requests/export", () => import("@/app/api/v1/requests/export/route"), "admin"],
    ],
    [
      ["from=0000-01-01T00:00:00Z", "from"],
      ["to=9999-12-31T23:59:59Z", "to"],
      ["to=2099-12-31T23:00:00-05:00", "to"],
    ],
  ),
  {
    name: "create a key expiring in 9999",
    load: () => import("@/app/api/v1/keys/route"),
    method: "POST",
    as: "developer",
    options: () => ({ body: { name: "forever", expiresAt: "9999-12-31T00:00:00Z" } }),
    status: 422,
    code: "validation_failed",
    path: "expiresAt",
  },
];

function credentials(as: Caller): CallOptions {
  if (as === "admin") return { cookie: admin };
  if (as === "developer") return { cookie: developer };
  if (as === "app") return { headers: { authorization: `Bearer ${appKey}` }, origin: null };
  return {};
}

describe("bad input that used to fail on our side (issue 22)", () => {
  for (const c of inputCases) {
    it(`${c.name} → ${c.status} ${c.code}${c.path ? ` at ${c.path}` : ""}, nothing written`, async () => {
      const before = await writes();
      const handler = (await c.load())[c.method] as Parameters<typeof call>[0];
      const options = c.options();
      const res = await call(handler, { method: c.method, ...credentials(c.as), ...options });
      expect(res.status, JSON.stringify(res.body)).toBe(c.status);
      expect(res.body).toEqual({
        error: expect.objectContaining({ code: c.code, message: expect.any(String) }),
      });
      if (c.path) expect(res.body.error.issues[0]).toEqual(expect.objectContaining({ path: c.path }));
      expect(await writes()).toEqual(before);
    });
  }

  it("the same requests within bounds are served: dates of 2000 and 2099, paired surrogates, text parts", async () => {
    const analytics = (await import("@/app/api/v1/analytics/usage/route")).GET;
    for (const query of ["from=2000-01-01&to=2000-01-02", "from=2099-12-01&to=2099-12-31"]) {
      const res = await call(analytics, { cookie: admin, path: `/x?${query}` });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const audit = await call((await import("@/app/api/v1/audit/route")).GET, {
      cookie: admin,
      path: "/x?from=2000-01-01&to=2099-12-31",
    });
    expect(audit.status).toBe(200);
    const usage = await call((await import("@/app/api/v1/key/usage/route")).GET, {
      headers: { authorization: `Bearer ${appKey}` },
      origin: null,
      path: "/x?from=2099-12-01&to=2099-12-31",
    });
    expect(usage.status, JSON.stringify(usage.body)).toBe(200);
    const saved = await call((await conversations()).POST, {
      cookie: developer,
      body: {
        settings: { ...SETTINGS, system: "😀 ok" },
        messages: [
          { id: "m1", role: "user", parts: [{ type: "text", text: "héllo 😀" }] },
          {
            id: "m2",
            role: "assistant",
            parts: [
              { type: "step-start" },
              { type: "reasoning", text: "thinking", state: "done" },
              { type: "text", text: "hi", state: "done" },
            ],
          },
        ],
      },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    const [row] = await sql`
      select settings->>'system' as system, messages->0->'parts'->0->>'text' as text
      from playground_conversations where id = ${saved.body.conversation.id}`;
    expect(row).toEqual({ system: "😀 ok", text: "héllo 😀" });
  });
});
