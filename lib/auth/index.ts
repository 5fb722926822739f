import "server-only";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { findSession } from "./sessions";
import { accessTokenFromCookies, principalFromClaims, verifySupabaseJwt } from "./supabase";
import { type Principal, SESSION_COOKIE } from "./types";

export type { Principal } from "./types";

export interface Credentials {
  cookies: { name: string; value: string }[];
  authorization: string | null;
}

export function parseCookieHeader(header: string | null): { name: string; value: string }[] {
  if (!header) return [];
  return header.split(";").flatMap((part) => {
    const i = part.indexOf("=");
    if (i < 1) return [];
    const name = part.slice(0, i).trim();
    const raw = part.slice(i + 1).trim();
    try {
      return [{ name, value: decodeURIComponent(raw) }];
    } catch {
      return [{ name, value: raw }];
    }
  });
}

/** The one entry point of lib/auth: whichever provider is configured, credentials in, an active user (or null) out. */
export async function authenticateCredentials(credentials: Credentials): Promise<Principal | null> {
  const cfg = config();
  if (cfg.AUTH_PROVIDER === "supabase") {
    const supabase = {
      url: cfg.NEXT_PUBLIC_SUPABASE_URL!,
      anonKey: cfg.NEXT_PUBLIC_SUPABASE_ANON_KEY!,
      jwtSecret: cfg.SUPABASE_JWT_SECRET,
    };
    const bearer = /^Bearer\s+(.+)$/i.exec(credentials.authorization ?? "")?.[1];
    const token = bearer ?? (await accessTokenFromCookies(credentials.cookies, supabase));
    if (!token) return null;
    const claims = await verifySupabaseJwt(token, supabase);
    return claims ? principalFromClaims(db(), claims) : null;
  }
  const token = credentials.cookies.find((c) => c.name === SESSION_COOKIE)?.value;
  return token ? findSession(db(), token) : null;
}

export function authenticate(req: Request): Promise<Principal | null> {
  return authenticateCredentials({
    cookies: parseCookieHeader(req.headers.get("cookie")),
    authorization: req.headers.get("authorization"),
  });
}
