import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict, notFound } from "@/lib/http/errors";
import { offsetWithin } from "@/lib/http/paging";
import { assertAdmin } from "@/lib/users/assert-admin";
import { checkLowBalances, moneyCameIn } from "./low-balance";
import { formatMicros } from "./money";
import { MAX_MICROS } from "./schemas";

export type CreditKind = "topup" | "grant" | "adjustment";

const SOURCE: Record<CreditKind, string> = { topup: "funding", grant: "grants", adjustment: "adjustments" };

export interface CreditInput {
  accountId: string;
  /** Positive adds money; an adjustment may be negative (never below what is held). */
  amountMicros: bigint;
  kind: CreditKind;
  reason: string;
  idempotencyKey: string;
  /**
   * Money that is gone whatever the balance (a card refund, a lost dispute): the adjustment is taken even below
   * what is held or below zero; the account then refuses new calls until topped up. System actors only.
   */
  force?: boolean;
}

export interface Account {
  id: string;
  kind: string;
  ownerUserId: string | null;
  ownerEmail: string | null;
  /** A team account's organization (its owner for display); null for a person's account. */
  organizationId: string | null;
  organizationSlug: string | null;
  organizationName: string | null;
  balanceMicros: bigint;
  heldMicros: bigint;
  /** The part of heldMicros that live balance leases reserve (the rest: holds of calls in progress). */
  leasedMicros: bigint;
  dailyBudgetMicros: bigint | null;
  monthlyBudgetMicros: bigint | null;
  /** What the account's budgets count in the UTC day and month: charges plus the reservations made then. */
  dayUsedMicros: bigint;
  monthUsedMicros: bigint;
  /** What the account has been charged (settled calls only) in the UTC day and month; reservations are heldMicros. */
  dayChargedMicros: bigint;
  monthChargedMicros: bigint;
  /** The plan it spends under (a person's: their user's; an organization's: its own), if any: its name, request
   *  allowance and budgets (used where the account has none). */
  planName: string | null;
  requestsPerDay: number | null;
  dayRequests: number;
  planDailyBudgetMicros: bigint | null;
  planMonthlyBudgetMicros: bigint | null;
  /** Below this available balance the owner is warned (the account's own threshold, else the default). */
  lowBalanceMicros: bigint;
  /** The account's own threshold, if an admin set one. */
  ownLowBalanceMicros: bigint | null;
}

/** The columns of an Account (accounts a left join users u); usage counters read through window_used, the SQL rule
 *  the money functions apply (zero once their UTC day or month has passed, at tollgate_now()), charges through
 *  window_charged (the counter less the window's live reservations). */
export const accountColumns = (db: Db) => db`
  a.id, a.kind, a.owner_user_id as "ownerUserId", u.email as "ownerEmail", o.id as "organizationId",
  o.slug as "organizationSlug", o.name as "organizationName",
  a.balance_micros as "balanceMicros", a.held_micros as "heldMicros",
  (select coalesce(sum(l.reserved_micros), 0) from leases l
   where l.account_id = a.id and l.status in ('open', 'closing'))::bigint as "leasedMicros",
  a.daily_budget_micros as "dailyBudgetMicros", a.monthly_budget_micros as "monthlyBudgetMicros",
  window_used(a.day_used_micros, a.budget_day, tollgate_now(), 'day') as "dayUsedMicros",
  window_used(a.month_used_micros, a.budget_month, tollgate_now(), 'month') as "monthUsedMicros",
  window_charged(a.day_used_micros, a.budget_day, a.id, null, tollgate_now(), 'day') as "dayChargedMicros",
  window_charged(a.month_used_micros, a.budget_month, a.id, null, tollgate_now(), 'month') as "monthChargedMicros",
  p.name as "planName", p.requests_per_day as "requestsPerDay",
  window_used(a.day_requests, a.budget_day, tollgate_now(), 'day')::int as "dayRequests",
  p.daily_budget_micros as "planDailyBudgetMicros", p.monthly_budget_micros as "planMonthlyBudgetMicros",
  coalesce(a.low_balance_micros, (select s.low_balance_micros from billing_settings s)) as "lowBalanceMicros",
  a.low_balance_micros as "ownLowBalanceMicros"`;

/** What accountColumns reads from: accounts a, their owner u (a person) or organization o, and their plan p. */
export const accountSource = (db: Db) =>
  db`accounts a left join users u on u.id = a.owner_user_id left join organizations o on o.id = a.organization_id
     left join plans p on p.id = plan_of(a.organization_id, a.plan_id, u.plan_id)`;

export async function getAccount(db: Db, where: { id?: string; userId?: string }): Promise<Account | null> {
  const [row] = await db<Account[]>`
    select ${accountColumns(db)}
    from ${accountSource(db)}
    where a.kind <> 'system' and (a.id = ${where.id ?? null} or a.owner_user_id = ${where.userId ?? null})`;
  return row ?? null;
}

/**
 * Adds (or, for adjustments, removes) money: one balanced ledger transaction and the balance change in one
 * database transaction, idempotent by the caller's key, audit-logged with the reason.
 */
export async function creditAccount(
  db: Db,
  actor: Actor,
  input: CreditInput,
): Promise<{ account: Account; replayed: boolean }> {
  assertAdmin(actor);
  if (input.amountMicros === 0n) throw new AppError("validation_failed", "The amount must not be zero.");
  if (input.kind !== "adjustment" && input.amountMicros < 0n) {
    throw new AppError("validation_failed", "Top-ups and grants add money: use an adjustment to remove it.");
  }
  return inTransaction(db, async (tx) => {
    const [txn] = await tx<{ id: string }[]>`
      insert into ledger_transactions (kind, idempotency_key, reason, created_by)
      values (${input.kind}, ${`${input.kind}:${input.idempotencyKey}`}, ${input.reason}, ${actor.userId})
      on conflict (idempotency_key) do nothing returning id`;
    if (!txn) {
      const account = await getAccount(tx, { id: input.accountId });
      if (!account) throw notFound("Account");
      return { account, replayed: true };
    }
    const forced = input.force === true && actor.kind !== "user";
    const [updated] = await tx<{ id: string }[]>`
      update accounts set balance_micros = balance_micros + ${input.amountMicros}
      where id = ${input.accountId} and kind <> 'system'
        and (${forced} or balance_micros + ${input.amountMicros} >= least(held_micros, balance_micros))
        and balance_micros + ${input.amountMicros} >= ${-MAX_MICROS}
        and balance_micros + ${input.amountMicros} <= ${MAX_MICROS}
      returning id`;
    if (!updated) {
      const exists = await getAccount(tx, { id: input.accountId });
      if (!exists) throw notFound("Account");
      if (exists.balanceMicros + input.amountMicros > MAX_MICROS) {
        throw new AppError(
          "validation_failed",
          `This credit would take the balance above ${formatMicros(MAX_MICROS)}, the most an account holds.`,
          { issues: [{ path: "amountMicros", message: "the balance would exceed 2^53 − 1 micro-USD" }] },
        );
      }
      throw conflict("This adjustment would take the balance below what calls in progress hold.");
    }
    await tx`
      insert into ledger_entries (transaction_id, account_id, amount_micros)
      values (${txn.id}, ${input.accountId}, ${input.amountMicros}),
             (${txn.id}, (select id from accounts where code = ${SOURCE[input.kind]}), ${-input.amountMicros})`;
    // A credit re-arms the low-balance notice (and pays due seat fees); a negative adjustment may cross below it.
    if (input.amountMicros > 0n) await moneyCameIn(tx, input.accountId);
    else await checkLowBalances(tx, [input.accountId]);
    const account = (await getAccount(tx, { id: input.accountId }))!;
    await recordAudit(tx, actor, {
      action: `account.${input.kind}`,
      targetType: "account",
      targetId: input.accountId,
      after: { amountMicros: input.amountMicros, reason: input.reason, balanceMicros: account.balanceMicros },
    });
    return { account, replayed: false };
  });
}

export interface LedgerLine {
  id: string;
  at: Date;
  kind: string;
  reason: string;
  amountMicros: bigint;
  runningBalanceMicros: bigint;
}

/**
 * How deep an account's ledger page reaches (page × pageSize): its newest 10,000 entries. Every batch of calls writes
 * an entry on each account it charged, so a busy account gains hundreds of thousands a day; its monthly statements
 * hold every entry.
 */
export const LEDGER_LINES_MAX = 10_000;

/**
 * An account's ledger, newest first, with the balance after each entry, to LEDGER_LINES_MAX deep. The balance after
 * an entry is the account's balance less every newer entry (the ledger's sums equal the balances, one snapshot): a
 * page reads the entries down to its end, never the account's whole history. `total` counts to the cap, `capped` says
 * there are more.
 */
export async function accountLedger(
  db: Db,
  accountId: string,
  { page, pageSize }: { page: number; pageSize: number },
): Promise<{ items: LedgerLine[]; total: number; capped: boolean }> {
  const offset = offsetWithin(
    { page, pageSize },
    LEDGER_LINES_MAX,
    `The ledger reaches the newest ${LEDGER_LINES_MAX.toLocaleString("en-US")} entries (page × pageSize); the monthly statements hold every entry.`,
  );
  const [items, [count]] = await Promise.all([
    db<LedgerLine[]>`
      -- Ordered as ledger_entries_account_idx (account_id, id) is: by id alone, the planner may walk the primary key
      -- back from the newest entry on the platform, past every other account's (an outside review measured 1.6
      -- million rows read for one quiet account's first page).
      with newest as (
        select e.id, e.created_at, e.transaction_id, e.amount_micros
        from ledger_entries e
        where e.account_id = ${accountId}
        order by e.account_id desc, e.id desc
        limit ${offset + pageSize}
      ),
      running as (
        select n.*, a.balance_micros - coalesce(sum(n.amount_micros) over (
                 order by n.id desc rows between unbounded preceding and 1 preceding), 0) as running
        from newest n cross join (select balance_micros from accounts where id = ${accountId}) a
      ),
      -- The page first, then its transactions (a join before the offset would read every newer entry's).
      paged as (select * from running order by id desc limit ${pageSize} offset ${offset})
      select r.id::text, r.created_at as at, t.kind, t.reason, r.amount_micros as "amountMicros",
             r.running as "runningBalanceMicros"
      from paged r join ledger_transactions t on t.id = r.transaction_id
      -- r.id, the entry's bigint: a bare "id" would sort the text output column ('998' after '1002').
      order by r.id desc`,
    db<{ n: number }[]>`
      select count(*)::int as n
      from (select 1 from ledger_entries where account_id = ${accountId} order by account_id, id
            limit ${LEDGER_LINES_MAX + 1}) x`,
  ]);
  return { items, total: Math.min(count!.n, LEDGER_LINES_MAX), capped: count!.n > LEDGER_LINES_MAX };
}

export interface InvariantViolation {
  kind: "balance" | "held" | "unbalanced_transaction";
  id: string;
  expected: bigint;
  actual: bigint;
}

/**
 * The ledger invariants: every user/team account's balance equals the sum of its entries, its held amount
 * equals what its open call holds and its live leases reserve, and every ledger transaction sums to zero.
 * Empty when all hold.
 */
export async function checkLedgerInvariants(db: Db, accountId?: string): Promise<InvariantViolation[]> {
  const only = accountId ?? null;
  return db<InvariantViolation[]>`
    select 'balance' as kind, a.id::text as id, coalesce(e.total, 0)::bigint as expected, a.balance_micros as actual
    from accounts a left join (select account_id, sum(amount_micros) as total from ledger_entries group by account_id) e
      on e.account_id = a.id
    where a.kind <> 'system' and (${only}::uuid is null or a.id = ${only}) and a.balance_micros <> coalesce(e.total, 0)
    union all
    select 'held', a.id::text, coalesce(h.total, 0)::bigint, a.held_micros
    from accounts a left join (
      select account_id, sum(amount) as total from (
        select account_id, amount_micros as amount from holds where status = 'open'
        union all
        select account_id, reserved_micros from leases where status in ('open', 'closing')
      ) r group by account_id) h
      on h.account_id = a.id
    where a.kind <> 'system' and (${only}::uuid is null or a.id = ${only}) and a.held_micros <> coalesce(h.total, 0)
    union all
    select 'unbalanced_transaction', transaction_id::text, 0::bigint, sum(amount_micros)::bigint
    from ledger_entries where ${only}::uuid is null
    group by transaction_id having sum(amount_micros) <> 0`;
}
