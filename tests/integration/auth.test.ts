import { beforeEach, describe, expect, it } from "vitest";
import { awayFromWindowEdge } from "../helpers/attempts";
import { createTestDatabase } from "../helpers/db";
import { call, sessionCookieFrom } from "../helpers/http";
import { insertUser, PASSWORD, signIn } from "../helpers/users";

process.env.LOGIN_MAX_ATTEMPTS_PER_EMAIL = "3";
process.env.LOGIN_MAX_ATTEMPTS_PER_IP = "5";
process.env.LOGIN_MAX_ATTEMPTS_PER_EMAIL_GLOBAL = "6";
// As behind one proxy of ours: the client is the last X-Forwarded-For entry, whatever the client put before it.
process.env.TRUSTED_PROXY = "1";
const { sql } = await createTestDatabase();
const login = async (email: string, password: string, ip = "10.0.0.1", device?: string) => {
  const { POST } = await import("@/app/api/auth/login/route");
  return call(POST, {
    body: { email, password },
    headers: { "x-forwarded-for": ip, ...(device ? { cookie: device } : {}) },
  });
};
const deviceFrom = (res: { headers: Headers }) =>
  res.headers
    .getSetCookie()
    .find((c) => c.startsWith("tg_device="))!
    .split(";")[0]!;
const me = async (cookie?: string) => call((await import("@/app/api/v1/me/route")).GET, { cookie });

describe("local sign-in", () => {
  // Each test's guesses share one throttle window (LOGIN_WINDOW_SECONDS, 900 by default).
  beforeEach(() => awayFromWindowEdge(sql, 900), 40_000);

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

  it("rotating the client-controlled part of X-Forwarded-For gains no guesses", async () => {
    await insertUser(sql, { email: "carol@example.com" });
    for (let i = 0; i < 3; i++) {
      const spoofed = `203.0.113.${i}, 198.51.100.${i}, 10.1.0.1`;
      expect((await login("carol@example.com", "wrong-password", spoofed)).status).toBe(401);
    }
    const blocked = await login("carol@example.com", PASSWORD, "203.0.113.99, 10.1.0.1");
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("rate_limited");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("parallel guesses cannot outrun the limit: each is counted before its password is checked", async () => {
    await insertUser(sql, { email: "judy@example.com" });
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => login("judy@example.com", "wrong-password", "10.6.0.1")),
    );
    const statuses = answers.map((a) => a.status);
    // Three guesses per (email, client) in a window are evaluated; the other 27 are refused unevaluated.
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(27);
    // The owner, from elsewhere, is not locked out by them.
    expect((await login("judy@example.com", PASSWORD, "10.6.0.2")).status).toBe(200);
  });

  it("a guesser locks only its own (email, client) pair: the owner elsewhere still signs in", async () => {
    await insertUser(sql, { email: "frank@example.com" });
    for (let i = 0; i < 4; i++) await login("frank@example.com", "wrong-password", "10.4.0.1");
    expect((await login("frank@example.com", PASSWORD, "10.4.0.1")).status).toBe(429);
    expect((await login("frank@example.com", PASSWORD, "10.4.0.2")).status).toBe(200);
  });

  it("throttles per IP across emails", async () => {
    for (let i = 0; i < 5; i++) await login(`spray-${i}@example.com`, "wrong-password", "10.2.0.1");
    await insertUser(sql, { email: "dave@example.com" });
    expect((await login("dave@example.com", PASSWORD, "10.2.0.1")).status).toBe(429);
    expect((await login("dave@example.com", PASSWORD, "10.2.0.2")).status).toBe(200);
  });

  it("the per-email backstop stops guesses from many addresses but never a known-good device", async () => {
    await insertUser(sql, { email: "grace@example.com" });
    const first = await login("grace@example.com", PASSWORD, "10.3.0.1");
    expect(first.status).toBe(200);
    const device = deviceFrom(first);
    // A distributed guesser: one failure from each of six addresses reaches the backstop.
    for (let i = 0; i < 6; i++) await login("grace@example.com", "wrong-password", `10.3.1.${i}`);
    const stranger = await login("grace@example.com", PASSWORD, "10.3.2.1");
    expect(stranger.status).toBe(429);
    expect(stranger.body.error.message).toMatch(/device you have used before/);
    // The owner's browser, from a new address, with the right password: in.
    expect((await login("grace@example.com", PASSWORD, "10.3.3.3", device)).status).toBe(200);
    // Its own typos count against that device only, never against the owner's other sign-ins.
    for (let i = 0; i < 3; i++) await login("grace@example.com", "typo-password", "10.3.3.3", device);
    expect((await login("grace@example.com", PASSWORD, "10.3.3.3", device)).status).toBe(429);
  });

  it("a device cookie works only for the email it was issued for, and only as we signed it", async () => {
    await insertUser(sql, { email: "heidi@example.com" });
    await insertUser(sql, { email: "ivan@example.com" });
    const heidiDevice = deviceFrom(await login("heidi@example.com", PASSWORD, "10.5.0.1"));
    for (let i = 0; i < 6; i++) {
      await login("ivan@example.com", "wrong-password", `10.5.1.${i}`);
      await login("heidi@example.com", "wrong-password", `10.5.1.${i}`);
    }
    expect((await login("ivan@example.com", PASSWORD, "10.5.2.1", heidiDevice)).status).toBe(429);
    const forged = `${heidiDevice.split("=")[0]}=${heidiDevice.split("=")[1]!.split(".")[0]}.forged-mac`;
    expect((await login("heidi@example.com", PASSWORD, "10.5.2.2", forged)).status).toBe(429);
    expect((await login("heidi@example.com", PASSWORD, "10.5.2.2", heidiDevice)).status).toBe(200);
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
    const id = await insertUser(sql, { email: "fiona@example.com" });
    await insertUser(sql, { email: "gina@example.com" });
    const a = await signIn("fiona@example.com");
    const b = await signIn("fiona@example.com");
    const other = await signIn("gina@example.com");
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
    await insertUser(sql, { email: "hank@example.com" });
    const cookie = await signIn("hank@example.com");
    await sql`update sessions set expires_at = now() - interval '1 second'
              where user_id = (select id from users where email = 'hank@example.com')`;
    expect((await me(cookie)).status).toBe(401);
  });
});
