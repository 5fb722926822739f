import "server-only";
import { combineChunks, stringFromBase64URL } from "@supabase/ssr";
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import type { Db } from "@/lib/db/client";
import type { Principal, Role } from "./types";

export interface SupabaseAuthConfig {
  url: string;
  anonKey: string;
  /** HS256 projects sign with the JWT secret; asymmetric projects publish a JWKS, used when this is unset. */
  jwtSecret?: string;
}

let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

/** Verifies a Supabase access token locally (no round trip to Supabase) and returns its claims. */
export async function verifySupabaseJwt(token: string, cfg: SupabaseAuthConfig): Promise<JWTPayload | null> {
  try {
    const options = { audience: "authenticated", clockTolerance: 5 } as const;
    if (cfg.jwtSecret) {
      const { payload } = await jwtVerify(token, new TextEncoder().encode(cfg.jwtSecret), {
        ...options,
        algorithms: ["HS256"],
      });
      return payload;
    }
    jwks ??= createRemoteJWKSet(new URL("/auth/v1/.well-known/jwks.json", cfg.url));
    const { payload } = await jwtVerify(token, jwks, options);
    return payload;
  } catch {
    return null;
  }
}

/**
 * The access token from the @supabase/ssr session cookie (sb-<project ref>-auth-token, possibly chunked and
 * base64url-encoded). The token itself is verified separately, so the cookie is only a carrier.
 */
export async function accessTokenFromCookies(
  cookies: { name: string; value: string }[],
  cfg: Pick<SupabaseAuthConfig, "url">,
): Promise<string | null> {
  const key = `sb-${new URL(cfg.url).hostname.split(".")[0]}-auth-token`;
  const raw = await combineChunks(key, (name) => cookies.find((c) => c.name === name)?.value);
  if (!raw) return null;
  try {
    const text = raw.startsWith("base64-") ? stringFromBase64URL(raw.slice("base64-".length)) : raw;
    const session = JSON.parse(text) as { access_token?: unknown };
    return typeof session.access_token === "string" ? session.access_token : null;
  } catch {
    return null;
  }
}

/**
 * Maps a verified Supabase user to its Tollgate user. Accounts are provisioned by admins: the first sign-in
 * links the Supabase user id to the users row with the same email; afterwards the id alone is trusted.
 */
export async function principalFromClaims(db: Db, claims: JWTPayload): Promise<Principal | null> {
  const authUserId = typeof claims.sub === "string" ? claims.sub : null;
  if (!authUserId || !/^[0-9a-f-]{36}$/i.test(authUserId)) return null;
  const email = typeof claims.email === "string" ? claims.email.toLowerCase() : null;
  type Row = { id: string; email: string; name: string; role: Role; status: string };
  let [user] = await db<
    Row[]
  >`select id, email, name, role, status from users where auth_user_id = ${authUserId}`;
  if (!user && email) {
    [user] = await db<Row[]>`
      update users set auth_user_id = ${authUserId}
      where email = ${email} and auth_user_id is null
      returning id, email, name, role, status`;
  }
  if (user?.status !== "active") return null;
  return { userId: user.id, email: user.email, name: user.name, role: user.role, via: "supabase" };
}
