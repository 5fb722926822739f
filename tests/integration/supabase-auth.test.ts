// AUTH_PROVIDER=supabase: the platform verifies Supabase JWTs (minted here with a test secret) and maps them to users.
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser } from "../helpers/users";

const SECRET = "supabase-test-jwt-secret-with-at-least-32-characters";
process.env.AUTH_PROVIDER = "supabase";
process.env.NEXT_PUBLIC_SUPABASE_URL = "http://127.0.0.1:1";
process.env.NEXT_PUBLIC_SUPABASE_ANON_KEY = "anon-key";
process.env.SUPABASE_JWT_SECRET = SECRET;
const { sql } = await createTestDatabase();

async function mint(
  claims: Record<string, unknown>,
  { secret = SECRET, expiresIn = "5m", aud = "authenticated" } = {},
) {
  return new SignJWT({ role: "authenticated", ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

const me = async (headers: Record<string, string>) =>
  call((await import("@/app/api/v1/me/route")).GET, { headers });
const listUsers = async (headers: Record<string, string>) =>
  call((await import("@/app/api/v1/users/route")).GET, { headers });

describe("Supabase auth", () => {
  it("links a provisioned user on first sign-in and trusts the Supabase id afterwards", async () => {
    const id = await insertUser(sql, { email: "ivan@example.com", role: "admin" });
    const sub = randomUUID();
    const token = await mint({ sub, email: "Ivan@example.com" });
    const res = await me({ authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id, role: "admin" });
    expect(res.body.auth.provider).toBe("supabase");
    const [row] = await sql`select auth_user_id from users where id = ${id}`;
    expect(row!.auth_user_id).toBe(sub);
    // Role checks apply as with local sessions.
    expect((await listUsers({ authorization: `Bearer ${token}` })).status).toBe(200);
    // Later tokens for the same Supabase user map even if the email claim changes.
    const again = await mint({ sub, email: "renamed@example.com" });
    expect((await me({ authorization: `Bearer ${again}` })).body.user.id).toBe(id);
  });

  it("refuses forged, expired, wrong-audience tokens and unknown users", async () => {
    await insertUser(sql, { email: "judy@example.com" });
    const cases = [
      await mint(
        { sub: randomUUID(), email: "judy@example.com" },
        { secret: "another-secret-another-secret-another-secret" },
      ),
      await mint({ sub: randomUUID(), email: "judy@example.com" }, { expiresIn: "-1m" }),
      await mint({ sub: randomUUID(), email: "judy@example.com" }, { aud: "anon" }),
      await mint({ sub: randomUUID(), email: "stranger@example.com" }),
      "not-a-jwt",
    ];
    for (const token of cases) expect((await me({ authorization: `Bearer ${token}` })).status).toBe(401);
    const [row] = await sql`select auth_user_id from users where email = 'judy@example.com'`;
    expect(row!.auth_user_id).toBeNull();
  });

  it("a suspended user's valid token is refused; a developer gets 403 on admin routes", async () => {
    await insertUser(sql, { email: "ken@example.com", status: "suspended" });
    await insertUser(sql, { email: "lena@example.com" });
    const suspended = await mint({ sub: randomUUID(), email: "ken@example.com" });
    expect((await me({ authorization: `Bearer ${suspended}` })).status).toBe(401);
    const dev = await mint({ sub: randomUUID(), email: "lena@example.com" });
    expect((await me({ authorization: `Bearer ${dev}` })).status).toBe(200);
    expect((await listUsers({ authorization: `Bearer ${dev}` })).status).toBe(403);
  });

  it("reads the token from the @supabase/ssr session cookie", async () => {
    await insertUser(sql, { email: "mallory@example.com" });
    const token = await mint({ sub: randomUUID(), email: "mallory@example.com" });
    const session = {
      access_token: token,
      token_type: "bearer",
      expires_in: 300,
      expires_at: Math.floor(Date.now() / 1000) + 300,
      refresh_token: "refresh",
      user: { id: randomUUID(), email: "mallory@example.com", aud: "authenticated" },
    };
    const value = `base64-${Buffer.from(JSON.stringify(session)).toString("base64url")}`;
    const res = await call((await import("@/app/api/v1/me/route")).GET, {
      cookie: `sb-127-auth-token=${value}`,
    });
    expect(res.status).toBe(200);
    expect(res.body.user.email).toBe("mallory@example.com");
  });
});
