import "server-only";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { verifyPassword } from "./password";
import { createSession, type NewSession } from "./sessions";
import {
  issueDeviceCookie,
  loginSucceeded,
  type ThrottleLimits,
  takeLoginAttempt,
  verifyDeviceCookie,
} from "./throttle";
import type { Role } from "./types";

export interface LoginInput {
  email: string;
  password: string;
  ip: string | null;
  userAgent: string;
  /** The device cookie the browser sent, if any (a known-good client for this email). */
  deviceCookie?: string;
}

export interface LoginResult extends NewSession {
  user: { id: string; email: string; name: string; role: Role };
  /** A device cookie for this email, marking the browser as a known-good client for later sign-ins. */
  deviceCookie: string;
}

/**
 * Local sign-in: throttled per (email, client) with a global per-email backstop that known-good devices pass
 * (lib/auth/throttle.ts), constant-time-ish for unknown emails, one session per login.
 */
export async function login(
  db: Db,
  input: LoginInput,
  options: { ttlHours: number; throttle: ThrottleLimits; deviceSecret: string },
): Promise<LoginResult> {
  const email = input.email.trim().toLowerCase();
  const client = {
    ip: input.ip,
    deviceId: verifyDeviceCookie(input.deviceCookie, email, options.deviceSecret),
  };
  // Counted before the password is checked: parallel guesses cannot outrun the limit.
  const window = await takeLoginAttempt(db, client, email, options.throttle);
  const [user] = await db<
    { id: string; email: string; name: string; role: Role; status: string; password_hash: string | null }[]
  >`select id, email, name, role, status, password_hash from users where email = ${email}`;
  const ok = await verifyPassword(user?.password_hash, input.password);
  if (!user || !ok) throw new AppError("invalid_credentials", "Email or password is incorrect.");
  if (user.status !== "active") {
    throw new AppError("account_suspended", "This account is suspended. Contact an administrator.");
  }
  await loginSucceeded(db, client, email, options.throttle, window);
  const session = await createSession(db, {
    userId: user.id,
    passwordHash: user.password_hash,
    ttlHours: options.ttlHours,
    ip: input.ip,
    userAgent: input.userAgent,
  });
  // The password changed (or the user was suspended) between the check and now: the old password signs no one in.
  if (!session) throw new AppError("invalid_credentials", "Email or password is incorrect.");
  return {
    ...session,
    user: { id: user.id, email: user.email, name: user.name, role: user.role },
    deviceCookie: issueDeviceCookie(email, options.deviceSecret),
  };
}
