import "server-only";
import type { Actor } from "@/lib/auth/types";
import { containsPattern, type Db } from "@/lib/db/client";
import { assertAdmin } from "@/lib/users/assert-admin";
import type { AuditQuery } from "./schemas";

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

/** Newest first, filtered by action (or its prefix), actor, target and UTC days, paged. */
export async function listAudit(
  db: Db,
  actor: Actor,
  q: AuditQuery,
): Promise<{ items: AuditRow[]; total: number }> {
  assertAdmin(actor);
  // "key." is a prefix; "key.create" an exact action (a prefix of itself): one pattern does both.
  const action = q.action ? `${q.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const email = containsPattern(q.actor);
  const where = db`
    where (${action}::text is null or a.action like ${action})
      and (${email}::text is null or u.email ilike ${email})
      and (${q.targetType ?? null}::text is null or a.target_type = ${q.targetType ?? null})
      and (${q.targetId ?? null}::text is null or a.target_id = ${q.targetId ?? null})
      and (${q.actorId ?? null}::uuid is null or a.actor_id = ${q.actorId ?? null})
      and (${q.from ?? null}::date is null or a.at >= ${q.from ?? null}::date::timestamp at time zone 'utc')
      and (${q.to ?? null}::date is null or a.at < (${q.to ?? null}::date + 1)::timestamp at time zone 'utc')`;
  const [items, [count]] = await Promise.all([
    db<AuditRow[]>`
      select a.id::text as id, a.at, a.actor_id as "actorId", u.email as "actorEmail", a.actor_kind as "actorKind",
             a.action, a.target_type as "targetType", a.target_id as "targetId", a.before, a.after,
             a.request_id as "requestId", host(a.ip) as ip
      from audit_log a left join users u on u.id = a.actor_id
      ${where}
      order by a.at desc, a.id desc
      limit ${q.pageSize} offset ${(q.page - 1) * q.pageSize}`,
    db<{ total: bigint }[]>`
      select count(*) as total from audit_log a left join users u on u.id = a.actor_id ${where}`,
  ]);
  return { items, total: Number(count!.total) };
}
