// A password change races sign-ins and other changes: once it returns, no session made with the old password is
// alive (only the one that made the change), and of two changes checked against the same password one wins.
import { describe, expect, it } from "vitest";
import { createSession } from "@/lib/auth/sessions";
import { awayFromWindowEdge } from "../helpers/attempts";
import { createTestDatabase } from "../helpers/db";
import { call, sessionCookieFrom } from "../helpers/http";
import { insertUser, PASSWORD, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const NEW_PASSWORD = "a-brand-new-passphrase-42";

const me = async (cookie: string) => call((await import("@/app/api/v1/me/route")).GET, { cookie });
const changePassword = async (cookie: string, body: unknown) =>
  call((await import("@/app/api/v1/me/password/route")).POST, { cookie, body });
const login = async (email: string, password: string) =>
  call((await import("@/app/api/auth/login/route")).POST, { body: { email, password } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a password change against sign-ins in flight", () => {
  it("leaves no session made with the old password, however the sign-ins interleave", async () => {
    await awayFromWindowEdge(sql, 900);
    await insertUser(sql, { email: "victim@example.com" });
    const victim = await signIn("victim@example.com");
    const started = performance.now();
    expect((await login("victim@example.com", PASSWORD)).status).toBe(200);
    const oneSignIn = performance.now() - started;

    // Someone holding the old password signs in again and again (a new sign-in every quarter of one's length),
    // before, during and after the change.
    const attempts: Promise<Awaited<ReturnType<typeof login>>>[] = [];
    let stop = false;
    const attacker = (async () => {
      for (let i = 0; i < 60 && !stop; i++) {
        attempts.push(login("victim@example.com", PASSWORD));
        await sleep(oneSignIn / 4);
      }
    })();
    await sleep(oneSignIn);
    const change = await changePassword(victim, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(change.status).toBe(200);
    await sleep(2 * oneSignIn);
    stop = true;
    await attacker;
    const results = await Promise.all(attempts);
    const alive: string[] = [];
    for (const r of results.filter((r) => r.status === 200)) {
      if ((await me(sessionCookieFrom(r))).status === 200) alive.push(sessionCookieFrom(r));
    }
    expect(alive).toEqual([]);
    expect((await me(victim)).status).toBe(200);
    const [live] = await sql<{ n: number }[]>`
      select count(*)::int as n from sessions s join users u on u.id = s.user_id
      where u.email = 'victim@example.com' and s.revoked_at is null`;
    expect(live!.n).toBe(1);
  }, 60_000);

  it("a sign-in that verified the old hash creates no session once the hash has moved", async () => {
    const id = await insertUser(sql, { email: "late@example.com" });
    const [before] = await sql<{ h: string }[]>`select password_hash as h from users where id = ${id}`;
    const cookie = await signIn("late@example.com");
    expect(
      (await changePassword(cookie, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).status,
    ).toBe(200);
    const session = await createSession(sql, {
      userId: id,
      passwordHash: before!.h,
      ttlHours: 1,
      ip: null,
      userAgent: "t",
    });
    expect(session).toBeNull();
  });

  it("of two changes checked against the same password, one wins and the other changes nothing", async () => {
    await insertUser(sql, { email: "twice@example.com" });
    const a = await signIn("twice@example.com");
    const b = await signIn("twice@example.com");
    const [first, second] = await Promise.all([
      changePassword(a, { currentPassword: PASSWORD, newPassword: "first-new-passphrase-1" }),
      changePassword(b, { currentPassword: PASSWORD, newPassword: "second-new-passphrase-2" }),
    ]);
    const statuses = [first.status, second.status].sort();
    // The loser is either checked after the winner committed (403: not the current password) or raced it (409).
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const winner = first.status === 200 ? "first-new-passphrase-1" : "second-new-passphrase-2";
    const loser = first.status === 200 ? "second-new-passphrase-2" : "first-new-passphrase-1";
    expect((await login("twice@example.com", winner)).status).toBe(200);
    expect((await login("twice@example.com", loser)).status).toBe(401);
  });
});

describe("a cookie-authenticated mutation with an Authorization header", () => {
  it("is still checked for Origin: with local sessions the cookie, not the bearer, signs the request in", async () => {
    await insertUser(sql, { email: "csrf@example.com" });
    const cookie = await signIn("csrf@example.com");
    const forged = await call((await import("@/app/api/v1/me/password/route")).POST, {
      cookie,
      origin: "https://evil.example",
      headers: { authorization: "Bearer anything" },
      body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    });
    expect(forged.status).toBe(403);
    expect((await login("csrf@example.com", PASSWORD)).status).toBe(200);
  });
});
