import "server-only";
import { callIdMatching, callsMatching } from "@/lib/analytics/call-key";
import { callIdSearch } from "@/lib/analytics/schemas";
import type { Actor } from "@/lib/auth/types";
import { isAdmin, ownerScope } from "@/lib/auth/visibility";
import { containsPattern, type Db } from "@/lib/db/client";
import { type CallHit, type KeyHit, SEARCH_LIMIT, type SearchResults, type UserHit } from "./schemas";

// Prefix matches read a btree as a range [q, q || U+10FFFF): exact under the code-point collations our clusters
// use (C.UTF-8 here and on Supabase); starts_with() keeps every answer a true prefix match whatever the collation.
const TOP = String.fromCodePoint(0x10ffff);

/**
 * Users (admins only): email prefix through users_email_key, or a name or email containing the text (users is a
 * small table; the prefix part is the one a person types most).
 */
async function searchUsers(db: Db, q: string): Promise<UserHit[]> {
  const lower = q.toLowerCase();
  return db<UserHit[]>`
    with hits as (
      (select u.id from users u
       where u.email >= ${lower} and u.email < ${lower + TOP} and starts_with(u.email, ${lower})
       order by u.email limit ${SEARCH_LIMIT})
      union
      (select u.id from users u
       where u.name ilike ${containsPattern(q)} or u.email like ${containsPattern(lower)}
       order by u.email limit ${SEARCH_LIMIT})
    )
    select u.id::text as id, u.email, u.name, u.role, u.status, a.id::text as "accountId"
    from hits join users u on u.id = hits.id
    left join accounts a on a.owner_user_id = u.id
    order by starts_with(u.email, ${lower}) desc, u.email
    limit ${SEARCH_LIMIT}`;
}

/** Keys by name (containing) or prefix (tg_…): a developer's own through api_keys_user_id_idx, an admin's all. */
async function searchKeys(db: Db, owner: string | null, q: string): Promise<KeyHit[]> {
  return db<KeyHit[]>`
    select k.id::text as id, k.name, k.prefix, k.status, k.purpose, k.user_id::text as "userId",
           u.email as "userEmail"
    from api_keys k join users u on u.id = k.user_id
    where (${owner}::uuid is null or k.user_id = ${owner})
      and (k.name ilike ${containsPattern(q)} or starts_with(k.prefix, ${q}))
    order by k.status = 'active' desc, starts_with(k.prefix, ${q}) desc, k.created_at desc
    limit ${SEARCH_LIMIT}`;
}

/**
 * Calls by call id, exact or by its first characters (the request log's callIdSearch: hex and dashes, lowercased),
 * by their key (the id as a uuid, so a prefix is a range of keys: callsMatching, lib/analytics/call-key.ts), each
 * call's started_at reaching the one partition of usage_events its row is in; a developer's limited to their own.
 */
async function searchCalls(db: Db, owner: string | null, q: string): Promise<CallHit[]> {
  const parsed = callIdSearch.safeParse(q);
  if (!parsed.success) return [];
  const callId = parsed.data;
  return db<CallHit[]>`
    select e.id::text as id, e.call_id as "callId", e.started_at as "startedAt", e.model_group as model,
           e.status, u.email as "userEmail", k.prefix as "keyPrefix"
    from ${callsMatching(db, callId)} c
    -- Each call's row read in the one partition of its started_at (offset 0: a subquery per call, pruned at run time,
    -- rather than the call id probed in every partition's call key index).
    cross join lateral (
      select * from usage_events e
      where e.key_id = c.key_id and e.started_at = c.started_at and c.call_key = call_key(e.call_id)
        and ${callIdMatching(db, callId)}
      offset 0) e
    join api_keys k on k.id = e.key_id
    join users u on u.id = k.user_id
    where (${owner}::uuid is null or k.user_id = ${owner})
    order by e.started_at desc, e.id desc
    limit ${SEARCH_LIMIT}`;
}

/**
 * The palette's search: users for admins; keys and calls scoped by ownerScope (a developer's own, an admin's
 * all). Nothing here carries money, so no provider cost can leak.
 */
export async function search(db: Db, actor: Actor, q: string): Promise<SearchResults> {
  const owner = ownerScope(actor);
  const [users, keys, calls] = await Promise.all([
    isAdmin(actor) ? searchUsers(db, q) : Promise.resolve([]),
    searchKeys(db, owner, q),
    searchCalls(db, owner, q),
  ]);
  return { users, keys, calls };
}
