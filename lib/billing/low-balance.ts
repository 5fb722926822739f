import "server-only";
import type { Db } from "@/lib/db/client";
import { ORG_SEATS_RETRY_JOB } from "@/lib/orgs/jobs";
import { enqueue } from "@/lib/queue";
import { emitBalancesLow } from "@/lib/webhooks/emit";

export const LOW_BALANCE_JOB = "notify.low_balance";

/**
 * Low-balance episodes of the given accounts (or of the accounts the given keys spend from), in one statement. A
 * person's or an organization's account whose available balance (balance − held) is below its threshold (its own,
 * else the default in billing_settings) and was not yet told gets one notification job, enqueued in the caller's
 * transaction; an account back at or above it is re-armed (only a credit re-arms: call this after top-ups, grants,
 * redemptions and settlements). Returns the accounts told.
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
      select k.account_id from api_keys k where k.id = any(${db.array(keyIds)}::uuid[])
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
    where a.id = t.id and a.kind in ('user', 'team') and a.low_balance_notified_at is null
      and a.balance_micros - a.held_micros < coalesce(a.low_balance_micros, s.low_balance_micros)
    returning a.id`;
  for (const { id } of crossed) {
    await enqueue(db, LOW_BALANCE_JOB, { accountId: id }, { maxAttempts: 8, backoffBaseMs: 5_000 });
  }
  // balance.low to the accounts' webhook endpoints, with the same once-per-episode rule.
  await emitBalancesLow(
    db,
    crossed.map((r) => r.id),
  );
  return crossed.map((r) => r.id);
}

/**
 * What follows money coming into an account (a card top-up, a grant, a positive adjustment, a redeemed code), in the
 * caller's transaction: the low-balance notice is re-armed, and an organization whose seat fees are due gets the job
 * that pays them (lib/orgs/seats.ts), after which its keys call again. The job is idempotent, so one per credit is
 * harmless (and none is deduplicated away while an earlier one runs without this money in sight).
 */
export async function moneyCameIn(db: Db, accountId: string): Promise<void> {
  await checkLowBalances(db, [accountId]);
  const [due] = await db`
    select 1 from accounts where id = ${accountId} and kind = 'team' and seats_due_micros > 0`;
  if (due) await enqueue(db, ORG_SEATS_RETRY_JOB, { accountId }, { maxAttempts: 8, backoffBaseMs: 5_000 });
}
