// The authorization matrix: every route of the foundation × (anonymous, developer, admin) → expected status.
import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db";
import { type CallOptions, call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();

type Who = "anonymous" | "developer" | "admin";
let cookies: Record<Who, string | undefined>;
let developerId: string;
let adminId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  developerId = await insertUser(sql, { email: "dev@example.com" });
  cookies = {
    anonymous: undefined,
    developer: await signIn("dev@example.com"),
    admin: await signIn("admin@example.com"),
  };
});

const users = () => import("@/app/api/v1/users/route");
const user = () => import("@/app/api/v1/users/[id]/route");
const me = () => import("@/app/api/v1/me/route");
const sessions = () => import("@/app/api/v1/me/sessions/route");
const audit = () => import("@/app/api/v1/audit/route");
const health = () => import("@/app/api/health/route");
const logout = () => import("@/app/api/auth/logout/route");

interface Case {
  name: string;
  handler: () => Promise<Record<string, unknown>>;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  options?: () => CallOptions;
  expect: Record<Who, number>;
}

const cases: Case[] = [
  {
    name: "GET /api/health",
    handler: health,
    method: "GET",
    expect: { anonymous: 200, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/me",
    handler: me,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/me/sessions",
    handler: sessions,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/users",
    handler: users,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/users",
    handler: users,
    method: "POST",
    options: () => ({
      body: {
        email: `new-${Math.random().toString(36).slice(2)}@example.com`,
        role: "developer",
        password: "a-long-enough-password",
      },
    }),
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    name: "GET /api/v1/users/:id",
    handler: user,
    method: "GET",
    options: () => ({ params: { id: developerId } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "PATCH /api/v1/users/:id",
    handler: user,
    method: "PATCH",
    options: () => ({ params: { id: developerId }, body: { name: "Renamed" } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/audit",
    handler: audit,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/auth/logout",
    handler: logout,
    method: "POST",
    expect: { anonymous: 200, developer: 200, admin: 200 },
  },
];

describe("authorization matrix", () => {
  for (const c of cases) {
    for (const who of ["anonymous", "developer", "admin"] as const) {
      it(`${c.name} as ${who} → ${c.expect[who]}`, async () => {
        const mod = await c.handler();
        const handler = mod[c.method] as Parameters<typeof call>[0];
        // Logout ends the session it is called with: use a throwaway session for it.
        const cookie =
          c.name.includes("logout") && who !== "anonymous"
            ? await signIn(who === "admin" ? "admin@example.com" : "dev@example.com")
            : cookies[who];
        const res = await call(handler, { method: c.method, ...c.options?.(), cookie });
        expect(res.status, JSON.stringify(res.body)).toBe(c.expect[who]);
        if (res.status >= 400) {
          expect(res.body.error.code).toMatch(/^[a-z_]+$/);
          expect(typeof res.body.error.message).toBe("string");
        }
      });
    }
  }

  it("a developer reaching an admin route changes nothing", async () => {
    const { PATCH } = await user();
    const res = await call(PATCH, {
      method: "PATCH",
      params: { id: adminId },
      body: { role: "developer" },
      cookie: cookies.developer,
    });
    expect(res.status).toBe(403);
    const [row] = await sql`select role from users where id = ${adminId}`;
    expect(row!.role).toBe("admin");
  });
});
