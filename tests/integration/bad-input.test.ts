// Bad input gets a 4xx in the error contract and writes nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db";
import { type CallOptions, call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
let admin: string;
let developerId: string;

beforeAll(async () => {
  await insertUser(sql, { email: "admin@example.com", role: "admin" });
  developerId = await insertUser(sql, { email: "dev@example.com" });
  admin = await signIn("admin@example.com");
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
