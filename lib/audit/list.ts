import "server-only";
import type { Actor } from "@/lib/auth/types";
import type { Db } from "@/lib/db/client";
import { assertAdmin } from "@/lib/users/assert-admin";

export interface AuditQuery {
  page: number;
  pageSize: number;
  action?: string;
  targetType?: string;
  targetId?: string;
  actorId?: string;
}

export interface AuditRow {
  id: string;
  at: Date;
  actorId: string | null;
  actorEmail: string | null;
  actorKind: string;
  action: string;
  targetType: string;
  targetId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
  ip: string | null;
}

/** Newest first, filtered by action / target / actor, paged. */
export async function listAudit(
  db: Db,
  actor: Actor,
  q: AuditQuery,
): Promise<{ items: AuditRow[]; total: number }> {
  assertAdmin(actor);
  const where = db`
    where (${q.action ?? null}::text is null or a.action = ${q.action ?? null})
      and (${q.targetType ?? null}::text is null or a.target_type = ${q.targetType ?? null})
      and (${q.targetId ?? null}::text is null or a.target_id = ${q.targetId ?? null})
      and (${q.actorId ?? null}::uuid is null or a.actor_id = ${q.actorId ?? null})`;
  const [items, [count]] = await Promise.all([
    db<AuditRow[]>`
      select a.id::text as id, a.at, a.actor_id as "actorId", u.email as "actorEmail", a.actor_kind as "actorKind",
             a.action, a.target_type as "targetType", a.target_id as "targetId", a.before, a.after,
             a.request_id as "requestId", host(a.ip) as ip
      from audit_log a left join users u on u.id = a.actor_id
      ${where}
      order by a.at desc, a.id desc
      limit ${q.pageSize} offset ${(q.page - 1) * q.pageSize}`,
    db<{ total: bigint }[]>`select count(*) as total from audit_log a ${where}`,
  ]);
  return { items, total: Number(count!.total) };
}
