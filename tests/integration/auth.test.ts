import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db";
import { call, sessionCookieFrom } from "../helpers/http";
import { insertUser, PASSWORD, signIn } from "../helpers/users";

process.env.LOGIN_MAX_ATTEMPTS_PER_EMAIL = "3";
process.env.LOGIN_MAX_ATTEMPTS_PER_IP = "5";
const { sql } = await createTestDatabase();
const login = async (email: string, password: string, ip = "10.0.0.1") => {
  const { POST } = await import("@/app/api/auth/login/route");
  return call(POST, { body: { email, password }, headers: { "x-forwarded-for": ip } });
};
const me = async (cookie?: string) => call((await import("@/app/api/v1/me/route")).GET, { cookie });

describe("local sign-in", () => {
  it("issues an httpOnly SameSite=Lax session cookie and stores only the token's hash", async () => {
    await insertUser(sql, { email: "alice@example.com" });
    const res = await login("Alice@Example.com", PASSWORD);
    expect(res.status).toBe(200);
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    const token = sessionCookieFrom(res).split("=")[1]!;
    const rows = await sql`select token_hash from sessions`;
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]!.token_hash).toString("hex")).not.toContain(
      Buffer.from(token).toString("hex"),
    );
    expect((await me(sessionCookieFrom(res))).body.user.email).toBe("alice@example.com");
  });

  it("refuses a wrong password and an unknown email with the same answer", async () => {
    await insertUser(sql, { email: "bob@example.com" });
    const wrong = await login("bob@example.com", "not-the-password", "10.0.0.2");
    const unknown = await login("nobody@example.com", "whatever-password", "10.0.0.2");
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
  });

  it("throttles per email after repeated failures, even with the right password", async () => {
    await insertUser(sql, { email: "carol@example.com" });
    for (let i = 0; i < 3; i++)
      expect((await login("carol@example.com", "wrong-password", `10.1.0.${i}`)).status).toBe(401);
    const blocked = await login("carol@example.com", PASSWORD, "10.1.0.9");
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("rate_limited");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("throttles per IP across emails", async () => {
    for (let i = 0; i < 5; i++) await login(`spray-${i}@example.com`, "wrong-password", "10.2.0.1");
    await insertUser(sql, { email: "dave@example.com" });
    expect((await login("dave@example.com", PASSWORD, "10.2.0.1")).status).toBe(429);
    expect((await login("dave@example.com", PASSWORD, "10.2.0.2")).status).toBe(200);
  });

  it("logout revokes the session server-side", async () => {
    await insertUser(sql, { email: "erin@example.com" });
    const cookie = await signIn("erin@example.com");
    expect((await me(cookie)).status).toBe(200);
    const { POST } = await import("@/app/api/auth/logout/route");
    const out = await call(POST, { cookie });
    expect(out.headers.get("set-cookie")).toMatch(/Max-Age=0/);
    expect((await me(cookie)).status).toBe(401);
  });

  it("a user can sign out another of their sessions, not someone else's", async () => {
    const id = await insertUser(sql, { email: "frank@example.com" });
    await insertUser(sql, { email: "grace@example.com" });
    const a = await signIn("frank@example.com");
    const b = await signIn("frank@example.com");
    const other = await signIn("grace@example.com");
    const list = await call((await import("@/app/api/v1/me/sessions/route")).GET, { cookie: a });
    expect(list.body.items).toHaveLength(2);
    const target = list.body.items.find((s: { current: boolean }) => !s.current);
    const { DELETE } = await import("@/app/api/v1/me/sessions/[id]/route");
    expect((await call(DELETE, { method: "DELETE", cookie: other, params: { id: target.id } })).status).toBe(
      404,
    );
    expect((await call(DELETE, { method: "DELETE", cookie: a, params: { id: target.id } })).status).toBe(200);
    expect((await me(b)).status).toBe(401);
    expect((await me(a)).status).toBe(200);
    const [audit] = await sql`select actor_id from audit_log where action = 'session.revoke'`;
    expect(audit!.actor_id).toBe(id);
  });

  it("an expired session is refused", async () => {
    await insertUser(sql, { email: "heidi@example.com" });
    const cookie = await signIn("heidi@example.com");
    await sql`update sessions set expires_at = now() - interval '1 second'
              where user_id = (select id from users where email = 'heidi@example.com')`;
    expect((await me(cookie)).status).toBe(401);
  });
});
