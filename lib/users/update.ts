import "server-only";
import { recordAudit } from "@/lib/audit/record";
import { revokeAllSessions } from "@/lib/auth/sessions";
import type { Actor, Role, UserStatus } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, notFound } from "@/lib/http/errors";
import { assertAdmin } from "./assert-admin";
import { userColumns } from "./columns";
import type { User } from "./types";

export interface UpdateUserInput {
  name?: string;
  role?: Role;
  status?: UserStatus;
  /** The user's plan (null: none, pay as you go). Their keys get its limits within the auth cache TTL. */
  planId?: string | null;
}

/**
 * Changes a user's name, role or status. Suspending ends the user's sessions in the same transaction, so
 * their very next request is refused. Admins cannot demote or suspend themselves (no accidental lock-out).
 */
export async function updateUser(db: Db, actor: Actor, id: string, input: UpdateUserInput): Promise<User> {
  assertAdmin(actor);
  if (actor.userId === id && ((input.role && input.role !== "admin") || input.status === "suspended")) {
    throw new AppError("conflict", "You cannot demote or suspend your own account.");
  }
  return inTransaction(db, async (tx) => {
    if (input.planId) {
      const [plan] = await tx`select 1 from plans where id = ${input.planId}`;
      if (!plan) throw notFound("Plan");
    }
    const [before] = await tx<User[]>`
      select ${userColumns(tx)}
      from users where id = ${id} for update`;
    if (!before) throw notFound("User");
    const [after] = await tx<User[]>`
      update users set
        name = coalesce(${input.name?.trim() ?? null}, name),
        role = coalesce(${input.role ?? null}, role),
        status = coalesce(${input.status ?? null}, status),
        plan_id = ${input.planId !== undefined ? tx`${input.planId}::uuid` : tx`plan_id`}
      where id = ${id}
      returning ${userColumns(tx)}`;
    if (before.status === "active" && after!.status === "suspended") await revokeAllSessions(tx, id);
    const action =
      before.status !== after!.status
        ? after!.status === "suspended"
          ? "user.suspend"
          : "user.reactivate"
        : before.role !== after!.role
          ? "user.role_change"
          : before.planId !== after!.planId
            ? "user.plan_change"
            : "user.update";
    await recordAudit(tx, actor, { action, targetType: "user", targetId: id, before, after });
    return after!;
  });
}
