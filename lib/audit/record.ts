import "server-only";
import type { Actor } from "@/lib/auth/types";
import type { Db } from "@/lib/db/client";

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
}

const toJson = (value: unknown) =>
  value === undefined || value === null
    ? null
    : JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));

/** Appends to the audit log; call it in the same transaction as the change it describes. */
export async function recordAudit(db: Db, actor: Actor, entry: AuditEntry): Promise<void> {
  await db`
    insert into audit_log (actor_id, actor_kind, action, target_type, target_id, before, after, request_id, ip)
    values (${actor.userId}, ${actor.kind}, ${entry.action}, ${entry.targetType}, ${entry.targetId ?? null},
            ${db.json(toJson(entry.before))}, ${db.json(toJson(entry.after))}, ${actor.requestId ?? null}, ${actor.ip ?? null})`;
}
