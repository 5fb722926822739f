import "server-only";
import type { Actor } from "@/lib/auth/types";
import { ownerScope } from "@/lib/auth/visibility";
import { containsPattern, type Db } from "@/lib/db/client";
import { keyColumns } from "./access";
import type { ApiKey } from "./types";

export interface ListKeysQuery {
  userId?: string;
  keyId?: string;
  status?: "active" | "revoked";
  q?: string;
  page: number;
  pageSize: number;
}

/** Keys newest first. Developers always see only their own, whatever userId they ask for. */
export async function listKeys(
  db: Db,
  actor: Actor,
  query: ListKeysQuery,
): Promise<{ items: ApiKey[]; total: number; page: number; pageSize: number }> {
  const userId = ownerScope(actor) ?? query.userId ?? null;
  const pattern = containsPattern(query.q);
  const where = db`
    where (${userId}::uuid is null or k.user_id = ${userId})
      and (${query.keyId ?? null}::uuid is null or k.id = ${query.keyId ?? null})
      and (${query.status ?? null}::text is null or k.status = ${query.status ?? null})
      and (${pattern}::text is null or k.name ilike ${pattern} or k.prefix ilike ${pattern} or u.email ilike ${pattern})`;
  const [items, [count]] = await Promise.all([
    db<ApiKey[]>`
      select ${keyColumns(db)}
      from api_keys k join users u on u.id = k.user_id
      ${where}
      order by k.created_at desc, k.id desc
      limit ${query.pageSize} offset ${(query.page - 1) * query.pageSize}`,
    db<
      { total: bigint }[]
    >`select count(*) as total from api_keys k join users u on u.id = k.user_id ${where}`,
  ]);
  return { items, total: Number(count!.total), page: query.page, pageSize: query.pageSize };
}
