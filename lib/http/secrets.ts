import "server-only";
import { createHash, timingSafeEqual } from "node:crypto";

/** Constant-time comparison of two secrets of any length (both are hashed to equal length first). */
export function secretsEqual(presented: string | null | undefined, expected: string): boolean {
  if (!presented) return false;
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && presented.length === expected.length;
}

export function bearer(req: Request): string | null {
  return /^Bearer\s+(.+)$/i.exec(req.headers.get("authorization") ?? "")?.[1]?.trim() ?? null;
}
