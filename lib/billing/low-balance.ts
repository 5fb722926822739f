import "server-only";
import type { Db } from "@/lib/db/client";
import { enqueue } from "@/lib/queue";

export const LOW_BALANCE_JOB = "notify.low_balance";

/**
 * Low-balance episodes of the given accounts, in one pass. An account whose available balance (balance − held)
 * is below its threshold (its own, else the default in billing_settings) and was not yet told gets one
 * notification job, enqueued in the caller's transaction; an account back at or above it is re-armed (only a
 * credit re-arms: call this after top-ups, grants, redemptions and settlements). Returns the accounts told.
 */
export async function checkLowBalances(db: Db, accountIds: string[]): Promise<string[]> {
  if (!accountIds.length) return [];
  await db`
    update accounts a set low_balance_notified_at = null
    from billing_settings s
    where a.id = any(${db.array(accountIds)}::uuid[]) and a.low_balance_notified_at is not null
      and a.balance_micros - a.held_micros >= coalesce(a.low_balance_micros, s.low_balance_micros)`;
  const crossed = await db<{ id: string }[]>`
    update accounts a set low_balance_notified_at = now()
    from billing_settings s
    where a.id = any(${db.array(accountIds)}::uuid[]) and a.kind = 'user' and a.low_balance_notified_at is null
      and a.balance_micros - a.held_micros < coalesce(a.low_balance_micros, s.low_balance_micros)
    returning a.id`;
  for (const { id } of crossed) {
    await enqueue(db, LOW_BALANCE_JOB, { accountId: id }, { maxAttempts: 8, backoffBaseMs: 5_000 });
  }
  return crossed.map((r) => r.id);
}
