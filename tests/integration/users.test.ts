import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, PASSWORD, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
let admin: string;
let adminId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  admin = await signIn("admin@example.com");
});

const usersRoute = () => import("@/app/api/v1/users/route");
const userRoute = () => import("@/app/api/v1/users/[id]/route");
const meRoute = () => import("@/app/api/v1/me/route");

describe("user management", () => {
  it("creates a developer who can then sign in, and audits it", async () => {
    const { POST } = await usersRoute();
    const res = await call(POST, {
      cookie: admin,
      body: { email: "New.Dev@Example.com", name: "New Dev", role: "developer", password: PASSWORD },
    });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({
      email: "new.dev@example.com",
      role: "developer",
      status: "active",
    });
    const cookie = await signIn("new.dev@example.com");
    const me = await call((await meRoute()).GET, { cookie });
    expect(me.body.user.email).toBe("new.dev@example.com");
    const [entry] =
      await sql`select * from audit_log where action = 'user.create' and target_id = ${res.body.user.id}`;
    expect(entry).toMatchObject({ actor_id: adminId, actor_kind: "user", target_type: "user" });
    expect(entry!.after).toMatchObject({ email: "new.dev@example.com", role: "developer" });
    expect(JSON.stringify(entry!.after)).not.toContain("password");
  });

  it("refuses a duplicate email with 409", async () => {
    const { POST } = await usersRoute();
    const res = await call(POST, {
      cookie: admin,
      body: { email: "ADMIN@example.com", role: "developer", password: PASSWORD },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("conflict");
  });

  it("suspending a user ends their sessions at once; reactivating lets them sign in again", async () => {
    const id = await insertUser(sql, { email: "victim@example.com" });
    const cookie = await signIn("victim@example.com");
    const me = await meRoute();
    expect((await call(me.GET, { cookie })).status).toBe(200);

    const { PATCH } = await userRoute();
    const res = await call(PATCH, {
      method: "PATCH",
      cookie: admin,
      params: { id },
      body: { status: "suspended" },
    });
    expect(res.status).toBe(200);
    expect(res.body.user.status).toBe("suspended");

    expect((await call(me.GET, { cookie })).status).toBe(401);
    const [sessions] =
      await sql`select count(*)::int as open from sessions where user_id = ${id} and revoked_at is null`;
    expect(sessions!.open).toBe(0);
    const { POST: login } = await import("@/app/api/auth/login/route");
    const refused = await call(login, { body: { email: "victim@example.com", password: PASSWORD } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("account_suspended");

    const [audit] =
      await sql`select before, after from audit_log where action = 'user.suspend' and target_id = ${id}`;
    expect(audit!.before.status).toBe("active");
    expect(audit!.after.status).toBe("suspended");

    await call(PATCH, { method: "PATCH", cookie: admin, params: { id }, body: { status: "active" } });
    await signIn("victim@example.com");
    const [re] =
      await sql`select count(*)::int as n from audit_log where action = 'user.reactivate' and target_id = ${id}`;
    expect(re!.n).toBe(1);
  });

  it("changes a role and records before/after", async () => {
    const id = await insertUser(sql, { email: "promote@example.com" });
    const { PATCH } = await userRoute();
    const res = await call(PATCH, {
      method: "PATCH",
      cookie: admin,
      params: { id },
      body: { role: "admin" },
    });
    expect(res.body.user.role).toBe("admin");
    const [audit] =
      await sql`select before, after from audit_log where action = 'user.role_change' and target_id = ${id}`;
    expect([audit!.before.role, audit!.after.role]).toEqual(["developer", "admin"]);
  });

  it("an admin cannot suspend or demote themselves", async () => {
    const { PATCH } = await userRoute();
    for (const body of [{ status: "suspended" }, { role: "developer" }]) {
      const res = await call(PATCH, { method: "PATCH", cookie: admin, params: { id: adminId }, body });
      expect(res.status).toBe(409);
    }
    const [row] = await sql`select role, status from users where id = ${adminId}`;
    expect(row).toEqual({ role: "admin", status: "active" });
  });

  it("searches, filters and pages", async () => {
    for (let i = 0; i < 25; i++)
      await insertUser(sql, { email: `page-${String(i).padStart(2, "0")}@paging.test` });
    const { GET } = await usersRoute();
    const first = await call(GET, { cookie: admin, path: "/api/v1/users?q=paging.test&pageSize=10&page=1" });
    expect(first.body.total).toBe(25);
    expect(first.body.items).toHaveLength(10);
    const third = await call(GET, { cookie: admin, path: "/api/v1/users?q=paging.test&pageSize=10&page=3" });
    expect(third.body.items).toHaveLength(5);
    const all = new Set([...first.body.items, ...third.body.items].map((u: { email: string }) => u.email));
    expect(all.size).toBe(15);
    const admins = await call(GET, { cookie: admin, path: "/api/v1/users?role=admin" });
    expect(admins.body.items.every((u: { role: string }) => u.role === "admin")).toBe(true);
    // LIKE wildcards in the search are literal.
    const wildcard = await call(GET, { cookie: admin, path: "/api/v1/users?q=%25" });
    expect(wildcard.body.total).toBe(0);
  });
});
