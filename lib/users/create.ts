import "server-only";
import { recordAudit } from "@/lib/audit/record";
import { hashPassword } from "@/lib/auth/password";
import type { Actor, Role } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict } from "@/lib/http/errors";
import { assertAdmin } from "./assert-admin";
import { userColumns } from "./columns";
import type { User } from "./types";

export interface CreateUserInput {
  email: string;
  name: string;
  role: Role;
  /** Required for local sign-in; omitted when users sign in through Supabase. */
  password?: string;
}

export async function createUser(
  db: Db,
  actor: Actor,
  input: CreateUserInput,
  { requirePassword }: { requirePassword: boolean },
): Promise<User> {
  assertAdmin(actor);
  if (requirePassword && !input.password) {
    throw new AppError("validation_failed", "Invalid request body: password: required for local sign-in", {
      issues: [{ path: "password", message: "required for local sign-in" }],
    });
  }
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  return insertUser(db, actor, { ...input, passwordHash });
}

/**
 * The insert path of a new user (their personal account comes from the users trigger), audit-logged as user.create
 * by `actor`; 409 when the email is taken. For callers that hashed the password already (sign-up by invitation,
 * lib/orgs/invitation-signup.ts, hashes before it looks the invitation up); the caller checks the actor.
 */
export async function insertUser(
  db: Db,
  actor: Actor,
  input: Omit<CreateUserInput, "password"> & { passwordHash: string | null },
): Promise<User> {
  const email = input.email.trim().toLowerCase();
  return inTransaction(db, async (tx) => {
    const [user] = await tx<User[]>`
      insert into users (email, name, role, password_hash)
      values (${email}, ${input.name.trim()}, ${input.role}, ${input.passwordHash})
      on conflict (email) do nothing
      returning ${userColumns(tx)}`;
    if (!user) throw conflict(`A user with email ${email} already exists.`);
    await recordAudit(tx, actor, {
      action: "user.create",
      targetType: "user",
      targetId: user.id,
      after: user,
    });
    return user;
  });
}
