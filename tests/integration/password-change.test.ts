import { beforeEach, describe, expect, it } from "vitest";
import { awayFromWindowEdge } from "../helpers/attempts";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, PASSWORD, signIn } from "../helpers/users";

// Profile & sessions: a signed-in person changes their password (current one required, other sessions signed out,
// this one kept) and signs out everywhere (every session, this one included).

process.env.LOGIN_MAX_ATTEMPTS_PER_EMAIL = "3";
const { sql } = await createTestDatabase();
const NEW_PASSWORD = "a-brand-new-passphrase-42";

const me = async (cookie: string) => call((await import("@/app/api/v1/me/route")).GET, { cookie });
const changePassword = async (cookie: string, body: unknown, origin?: string | null) =>
  call((await import("@/app/api/v1/me/password/route")).POST, { cookie, body, origin });
const signOutEverywhere = async (cookie: string, origin?: string | null) =>
  call((await import("@/app/api/v1/me/sessions/route")).DELETE, { method: "DELETE", cookie, origin });
const login = async (email: string, password: string) =>
  call((await import("@/app/api/auth/login/route")).POST, { body: { email, password } });
const passwordHash = async (email: string) =>
  (await sql<{ h: string }[]>`select password_hash as h from users where email = ${email}`)[0]!.h;

describe("password change", () => {
  beforeEach(() => awayFromWindowEdge(sql, 900), 40_000);

  it("a wrong current password is refused with the error shape and changes nothing", async () => {
    await insertUser(sql, { email: "wrong@example.com" });
    const here = await signIn("wrong@example.com");
    const elsewhere = await signIn("wrong@example.com");
    const before = await passwordHash("wrong@example.com");
    const res = await changePassword(here, { currentPassword: "not-my-password", newPassword: NEW_PASSWORD });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    expect(res.body.error.issues).toEqual([{ path: "currentPassword", message: "is not correct" }]);
    expect(await passwordHash("wrong@example.com")).toBe(before);
    // Both sessions still work and the old password still signs in; the new one does not.
    expect((await me(here)).status).toBe(200);
    expect((await me(elsewhere)).status).toBe(200);
    expect((await login("wrong@example.com", PASSWORD)).status).toBe(200);
    expect((await login("wrong@example.com", NEW_PASSWORD)).status).toBe(401);
    expect(await sql`select 1 from audit_log where action = 'user.password_change'`).toHaveLength(0);
  });

  it("a new password outside the rules is 422 with the field named, and nothing changes", async () => {
    await insertUser(sql, { email: "rules@example.com" });
    const cookie = await signIn("rules@example.com");
    const before = await passwordHash("rules@example.com");
    for (const [body, path] of [
      [{ currentPassword: PASSWORD, newPassword: "short" }, "newPassword"],
      [{ currentPassword: PASSWORD, newPassword: PASSWORD }, "newPassword"],
      [{ currentPassword: PASSWORD, newPassword: "x".repeat(257) }, "newPassword"],
      [{ newPassword: NEW_PASSWORD }, "currentPassword"],
      [{ currentPassword: PASSWORD, newPassword: NEW_PASSWORD, role: "admin" }, "(body)"],
    ] as const) {
      const res = await changePassword(cookie, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    expect(await passwordHash("rules@example.com")).toBe(before);
  });

  it("succeeds: the old password no longer signs in, the new one does, other sessions end, this one stays", async () => {
    const id = await insertUser(sql, { email: "change@example.com" });
    const here = await signIn("change@example.com");
    const phone = await signIn("change@example.com");
    const laptop = await signIn("change@example.com");
    const res = await changePassword(here, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, sessionsSignedOut: 2 });
    expect((await me(here)).status).toBe(200);
    expect((await me(phone)).status).toBe(401);
    expect((await me(laptop)).status).toBe(401);
    const old = await login("change@example.com", PASSWORD);
    expect(old.status).toBe(401);
    expect(old.body.error.code).toBe("invalid_credentials");
    expect((await login("change@example.com", NEW_PASSWORD)).status).toBe(200);
    expect(await passwordHash("change@example.com")).toMatch(/^\$argon2id\$/);
    const [audit] = await sql`
      select actor_id, target_id, after from audit_log where action = 'user.password_change'`;
    expect(audit!.actor_id).toBe(id);
    expect(audit!.target_id).toBe(id);
    expect(audit!.after.sessionsSignedOut).toBe(2);
    // The audit entry carries no password or hash.
    expect(JSON.stringify(audit!.after)).not.toMatch(/argon2|passphrase|correct-horse/);
  });

  it("guesses at the current password are throttled per user: past the limit even the right one waits", async () => {
    await insertUser(sql, { email: "guess@example.com" });
    const cookie = await signIn("guess@example.com");
    for (let i = 0; i < 3; i++) {
      const res = await changePassword(cookie, { currentPassword: `guess-${i}`, newPassword: NEW_PASSWORD });
      expect(res.status).toBe(403);
    }
    const blocked = await changePassword(cookie, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("rate_limited");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await login("guess@example.com", PASSWORD)).status).toBe(200);
  });

  it("is refused from another site (cookie-authenticated mutation) and without a session", async () => {
    await insertUser(sql, { email: "csrf@example.com" });
    const cookie = await signIn("csrf@example.com");
    const body = { currentPassword: PASSWORD, newPassword: NEW_PASSWORD };
    const forged = await changePassword(cookie, body, "https://evil.example");
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe("cross_site_request");
    const anonymous = await call((await import("@/app/api/v1/me/password/route")).POST, { body });
    expect(anonymous.status).toBe(401);
    expect((await login("csrf@example.com", PASSWORD)).status).toBe(200);
  });
});

describe("sign out everywhere", () => {
  it("ends every session of the caller, this one included, and no one else's", async () => {
    const id = await insertUser(sql, { email: "everywhere@example.com" });
    await insertUser(sql, { email: "bystander@example.com" });
    const here = await signIn("everywhere@example.com");
    const other = await signIn("everywhere@example.com");
    const bystander = await signIn("bystander@example.com");
    const res = await signOutEverywhere(here);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, sessionsSignedOut: 2 });
    expect(res.headers.get("set-cookie")).toMatch(/tg_session=;.*Max-Age=0/);
    expect((await me(here)).status).toBe(401);
    expect((await me(other)).status).toBe(401);
    expect((await me(bystander)).status).toBe(200);
    const [audit] = await sql`select actor_id, after from audit_log where action = 'session.revoke_all'`;
    expect(audit!.actor_id).toBe(id);
    expect(audit!.after.sessionsSignedOut).toBe(2);
    // The password still works: signing in again starts a fresh session.
    expect((await login("everywhere@example.com", PASSWORD)).status).toBe(200);
  });

  it("is refused from another site and ends nothing", async () => {
    await insertUser(sql, { email: "forged@example.com" });
    const here = await signIn("forged@example.com");
    const res = await signOutEverywhere(here, "https://evil.example");
    expect(res.status).toBe(403);
    expect((await me(here)).status).toBe(200);
  });
});
