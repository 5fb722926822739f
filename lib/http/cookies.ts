import "server-only";
import { DEVICE_COOKIE } from "@/lib/auth/throttle";
import { SESSION_COOKIE } from "@/lib/auth/types";
import { config } from "@/lib/config";

function secure(): boolean {
  const cfg = config();
  return cfg.COOKIE_SECURE || cfg.APP_URL.startsWith("https://");
}

export function sessionCookie(token: string, expiresAt: Date): string {
  const parts = [
    `${SESSION_COOKIE}=${token}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    `Expires=${expiresAt.toUTCString()}`,
  ];
  if (secure()) parts.push("Secure");
  return parts.join("; ");
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure() ? "; Secure" : ""}`;
}

/** The known-good device marker (lib/auth/throttle.ts): long-lived, httpOnly, only for sign-in throttling. */
export function deviceCookie(value: string): string {
  const parts = [
    `${DEVICE_COOKIE}=${value}`,
    "Path=/api/auth",
    "HttpOnly",
    "SameSite=Lax",
    "Max-Age=31536000",
  ];
  if (secure()) parts.push("Secure");
  return parts.join("; ");
}
