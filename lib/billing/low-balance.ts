import "server-only";
import type { Db } from "@/lib/db/client";
import { enqueue } from "@/lib/queue";

export const LOW_BALANCE_JOB = "notify.low_balance";

/**
 * Low-balance episodes of the given accounts (or of the accounts owning the given keys), in one statement. An
 * account whose available balance (balance − held) is below its threshold (its own, else the default in
 * billing_settings) and was not yet told gets one notification job, enqueued in the caller's transaction; an
 * account back at or above it is re-armed (only a credit re-arms: call this after top-ups, grants, redemptions
 * and settlements). Returns the accounts told.
 */
export async function checkLowBalances(
  db: Db,
  accountIds: string[],
  { keyIds = [] }: { keyIds?: string[] } = {},
): Promise<string[]> {
  if (!accountIds.length && !keyIds.length) return [];
  // The two updates touch disjoint rows (at or above the threshold vs below it), so one statement holds both;
  // PostgreSQL runs a data-modifying CTE (rearmed) whether or not the rest of the statement reads it.
  const crossed = await db<{ id: string }[]>`
    with target as (
      select a.id from accounts a where a.id = any(${db.array(accountIds)}::uuid[])
      union
      select a.id from api_keys k join accounts a on a.owner_user_id = k.user_id
      where k.id = any(${db.array(keyIds)}::uuid[])
    ),
    rearmed as (
      update accounts a set low_balance_notified_at = null
      from billing_settings s, target t
      where a.id = t.id and a.low_balance_notified_at is not null
        and a.balance_micros - a.held_micros >= coalesce(a.low_balance_micros, s.low_balance_micros)
      returning a.id
    )
    update accounts a set low_balance_notified_at = now()
    from billing_settings s, target t
    where a.id = t.id and a.kind = 'user' and a.low_balance_notified_at is null
      and a.balance_micros - a.held_micros < coalesce(a.low_balance_micros, s.low_balance_micros)
    returning a.id`;
  for (const { id } of crossed) {
    await enqueue(db, LOW_BALANCE_JOB, { accountId: id }, { maxAttempts: 8, backoffBaseMs: 5_000 });
  }
  return crossed.map((r) => r.id);
}
