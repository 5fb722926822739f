import "server-only";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin, ownerScope } from "@/lib/auth/visibility";
import { containsPattern, type Db } from "@/lib/db/client";
import { orgAllows, orgFor } from "@/lib/orgs/access";
import { keyColumns, keySource } from "./access";
import type { ApiKey } from "./types";

export interface ListKeysQuery {
  userId?: string;
  keyId?: string;
  status?: "active" | "revoked";
  q?: string;
  /** An organization (slug or id): its keys as the actor may see them. */
  org?: string;
  page: number;
  pageSize: number;
}

/**
 * Which keys a listing covers. In an organization: every member's for its owners and admins (keys.manage) and
 * platform admins, the actor's own otherwise (and in an own view, "My API keys"). Elsewhere: developers (and own
 * views) their personal keys, the ones spending from their own account; admins every key.
 */
async function keyScope(db: Db, actor: Actor, query: ListKeysQuery) {
  if (query.org !== undefined) {
    const org = await orgFor(db, actor, query.org, "view");
    const platformAdmin = actsAsPlatformAdmin(actor);
    const all = actor.view !== "own" && orgAllows(org, "keys.manage", platformAdmin);
    return {
      userId: all ? (query.userId ?? null) : actor.userId,
      where: db`k.account_id = ${org.accountId}`,
    };
  }
  const own = ownerScope(actor);
  if (own) return { userId: own, where: db`ka.owner_user_id = k.user_id` };
  return { userId: query.userId ?? null, where: db`true` };
}

/** Keys newest first, with the organization each spends from (if any), as keyScope allows the actor to see them. */
export async function listKeys(
  db: Db,
  actor: Actor,
  query: ListKeysQuery,
): Promise<{ items: ApiKey[]; total: number; page: number; pageSize: number }> {
  const scope = await keyScope(db, actor, query);
  const pattern = containsPattern(query.q);
  const where = db`
    where ${scope.where}
      and (${scope.userId}::uuid is null or k.user_id = ${scope.userId})
      and (${query.keyId ?? null}::uuid is null or k.id = ${query.keyId ?? null})
      and (${query.status ?? null}::text is null or k.status = ${query.status ?? null})
      and (${pattern}::text is null or k.name ilike ${pattern} or k.prefix ilike ${pattern} or u.email ilike ${pattern})`;
  const [items, [count]] = await Promise.all([
    db<ApiKey[]>`
      select ${keyColumns(db)}
      from ${keySource(db)}
      ${where}
      order by k.created_at desc, k.id desc
      limit ${query.pageSize} offset ${(query.page - 1) * query.pageSize}`,
    db<{ total: bigint }[]>`select count(*) as total from ${keySource(db)} ${where}`,
  ]);
  return { items, total: Number(count!.total), page: query.page, pageSize: query.pageSize };
}
