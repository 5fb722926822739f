import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { verifyPassword } from "./password";
import { createSession, type NewSession } from "./sessions";
import { assertLoginAllowed, clearLoginFailures, recordLoginFailure, type ThrottleLimits } from "./throttle";
import type { Role } from "./types";

export interface LoginInput {
  email: string;
  password: string;
  ip: string | null;
  userAgent: string;
}

export interface LoginResult extends NewSession {
  user: { id: string; email: string; name: string; role: Role };
}

/** Local sign-in: throttled per IP and per email, constant-time-ish for unknown emails, one session per login. */
export async function login(
  db: Db,
  input: LoginInput,
  options: { ttlHours: number; throttle: ThrottleLimits },
): Promise<LoginResult> {
  const email = input.email.trim().toLowerCase();
  await assertLoginAllowed(db, input.ip, email, options.throttle);
  const [user] = await db<
    { id: string; email: string; name: string; role: Role; status: string; password_hash: string | null }[]
  >`select id, email, name, role, status, password_hash from users where email = ${email}`;
  const ok = await verifyPassword(user?.password_hash, input.password);
  if (!user || !ok) {
    await recordLoginFailure(db, input.ip, email, options.throttle.windowSeconds);
    throw new AppError("invalid_credentials", "Email or password is incorrect.");
  }
  if (user.status !== "active") {
    throw new AppError("account_suspended", "This account is suspended. Contact an administrator.");
  }
  await clearLoginFailures(db, email);
  const session = await createSession(db, {
    userId: user.id,
    ttlHours: options.ttlHours,
    ip: input.ip,
    userAgent: input.userAgent,
  });
  return { ...session, user: { id: user.id, email: user.email, name: user.name, role: user.role } };
}
