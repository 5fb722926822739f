import "server-only";
import type { Db, Tx } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";
import { accountRows, usageCredential } from "@/lib/usage/columns";
import {
  type AdjustmentLine,
  type ChargeGroup,
  type CreditLine,
  creditMethodOf,
  type SeatFeeLine,
  type Statement,
  type StatementLines,
} from "./schemas";

// A month's statement of one account, read from the ledger (billing contract clauses 55–58):
// - the month of an entry is its ledger transaction's created_at (the moment the money moved), in UTC;
// - opening = every entry before the month; closing = opening + every entry in it, so closing(m) = opening(m + 1);
// - a charge for a call made in an earlier month (settled, estimated or upgraded after that month ended) is an
//   adjustment line naming the call's month, never a line of the month it was made in;
// - provider cost never appears: a statement is the customer's document.

/** [start, end) of a UTC month "YYYY-MM". */
export function monthBounds(month: string): { start: Date; end: Date } {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return { start: new Date(Date.UTC(y, m - 1, 1)), end: new Date(Date.UTC(y, m, 1)) };
}

export const monthOf = (at: Date) => at.toISOString().slice(0, 7);

export const monthName = (month: string) =>
  monthBounds(month).start.toLocaleDateString("en-US", { month: "long", year: "numeric", timeZone: "UTC" });

interface EntryRow {
  txnId: string;
  kind: string;
  idempotencyKey: string;
  reason: string;
  at: Date;
  amountMicros: bigint;
  receipt: string | null;
}

interface CallRow {
  txnId: string;
  usageId: string;
  keyId: string;
  keyName: string;
  member: string;
  userId: string;
  model: string;
  /** Whose provider key served the call: the owner's own (BYOK) calls are their own model lines, charged the fee. */
  credential: "platform" | "byok";
  callMonth: string;
  /** Negative: what this entry took for the call. */
  amountMicros: bigint;
}

/** The id of the group of a charge no call explains (never expected; it keeps the statement equal to the ledger). */
export const UNATTRIBUTED = "unattributed";

export interface AccountHolder {
  accountId: string;
  holder: string;
  holderKind: "person" | "organization";
}

export async function accountHolder(db: Db, accountId: string): Promise<AccountHolder> {
  const [row] = await db<AccountHolder[]>`
    select a.id as "accountId", coalesce(o.name, u.email) as holder,
           case when a.kind = 'team' then 'organization' else 'person' end as "holderKind"
    from accounts a left join users u on u.id = a.owner_user_id left join organizations o on o.id = a.organization_id
    where a.id = ${accountId} and a.kind in ('user', 'team')`;
  if (!row) throw notFound("Account");
  return row;
}

/**
 * The statement of `accountId` for the UTC `month` as the ledger has it now (live). Closing snapshots it
 * (lib/statements/close.ts); a closed month is read from its snapshot.
 */
export async function computeStatement(db: Db, accountId: string, month: string): Promise<Statement> {
  // Every read from one snapshot: on separate snapshots a batch settling in between is seen by one query and not the
  // next (a charge without its calls: "Unattributed", or lines that do not close at the ledger). Inside a caller's
  // transaction (closing a month) its snapshot rules; that month has ended, so nothing settles into it.
  if ("begin" in db) {
    return (await db.begin("isolation level repeatable read read only", (tx) =>
      statementAt(tx, accountId, month),
    )) as Statement;
  }
  return statementAt(db, accountId, month);
}

async function statementAt(db: Tx, accountId: string, month: string): Promise<Statement> {
  const holder = await accountHolder(db, accountId);
  const { start, end } = monthBounds(month);
  // The month's calls all started before a day after its end: settle_usage records no event started more than a day
  // after tollgate_now(), the moment its batch's ledger transaction is created, and an upgrade re-charges a call so
  // recorded. A constant, so the planner leaves the later days' partitions of usage_events out (not read, not locked).
  const callsBefore = new Date(end.getTime() + 86_400_000);
  const [[opening], [ledgerClosing], entries, calls, seats] = await Promise.all([
    db<{ micros: bigint }[]>`
      select coalesce(sum(e.amount_micros), 0)::bigint as micros
      from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
      where e.account_id = ${accountId} and t.created_at < ${start}`,
    db<{ micros: bigint }[]>`
      select coalesce(sum(e.amount_micros), 0)::bigint as micros
      from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
      where e.account_id = ${accountId} and t.created_at < ${end}`,
    db<EntryRow[]>`
      select t.id as "txnId", t.kind, t.idempotency_key as "idempotencyKey", t.reason, t.created_at as at,
             sum(e.amount_micros)::bigint as "amountMicros", r.label as receipt
      from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
      left join receipts r on r.transaction_id = t.id and r.account_id = e.account_id
      where e.account_id = ${accountId} and t.created_at >= ${start} and t.created_at < ${end}
      group by t.id, r.label
      order by t.created_at, t.id`,
    // Each call's part of the month's charge entries: a batch's charge (one entry per account) split by its calls at
    // what they were charged then (the usage row's charge less the upgrades since), and each upgrade's own call.
    db<CallRow[]>`
      with month_txns as (
        select t.id, t.kind, t.idempotency_key
        from ledger_transactions t
        where t.created_at >= ${start} and t.created_at < ${end} and t.kind in ('charge', 'charge_adjustment')
          and exists (select 1 from ledger_entries e where e.transaction_id = t.id and e.account_id = ${accountId})
      ),
      parts as (
        select u.ledger_transaction_id as txn_id, u.id as usage_id, u.started_at as usage_started_at,
               -(u.revenue_micros + coalesce((
                 select sum(e2.amount_micros) from ledger_transactions t2
                 join ledger_entries e2 on e2.transaction_id = t2.id and e2.account_id = u.account_id
                 where t2.kind = 'charge_adjustment'
                   and t2.idempotency_key in (charge_upgrade_key(u.key_id, u.call_id, 'success'),
                                              charge_upgrade_key(u.key_id, u.call_id, 'cut'))), 0))::bigint
                 as amount
        from usage_events u
        where ${accountRows(db, "u", db`${accountId}::uuid`)} and u.started_at < ${callsBefore}
          and u.ledger_transaction_id in (select id from month_txns where kind = 'charge')
        union all
        select t.id, u.id, u.started_at, e.amount_micros
        from month_txns t
        join ledger_entries e on e.transaction_id = t.id and e.account_id = ${accountId}
        join usage_events u on ${accountRows(db, "u", db`${accountId}::uuid`)} and u.started_at < ${callsBefore}
          and t.idempotency_key in (charge_upgrade_key(u.key_id, u.call_id, 'success'),
                                    charge_upgrade_key(u.key_id, u.call_id, 'cut'))
        where t.kind = 'charge_adjustment'
      )
      select p.txn_id as "txnId", u.id::text as "usageId", u.key_id as "keyId", k.name || ' (' || k.prefix || '…)' as "keyName",
             k.user_id as "userId", coalesce(nullif(us.name, ''), us.email) as member, u.model_group as model,
             ${usageCredential(db, "u")} as credential, to_char(u.started_at at time zone 'utc', 'YYYY-MM') as "callMonth", p.amount as "amountMicros"
      -- By (started_at, id), usage_events_started_idx: one partition of usage_events per call.
      from parts p join usage_events u on u.id = p.usage_id and u.started_at = p.usage_started_at
        and u.started_at < ${callsBefore}
      join api_keys k on k.id = u.key_id join users us on us.id = k.user_id
      where p.amount <> 0`,
    db<{ txnId: string; userId: string; member: string; seatMonth: string }[]>`
      select c.ledger_transaction_id as "txnId", c.user_id as "userId", coalesce(nullif(u.name, ''), u.email) as member,
             to_char(c.month, 'YYYY-MM') as "seatMonth"
      from seat_charges c join users u on u.id = c.user_id
      join ledger_transactions t on t.id = c.ledger_transaction_id
      where c.organization_id = (select organization_id from accounts where id = ${accountId})
        and t.created_at >= ${start} and t.created_at < ${end}`,
  ]);

  const callsByTxn = new Map<string, CallRow[]>();
  for (const c of calls) {
    const same = callsByTxn.get(c.txnId);
    if (same) same.push(c);
    else callsByTxn.set(c.txnId, [c]);
  }
  const seatByTxn = new Map(seats.map((s) => [s.txnId, s]));

  const credits: CreditLine[] = [];
  const seatFees: SeatFeeLine[] = [];
  const adjustments: AdjustmentLine[] = [];
  const monthCalls: CallRow[] = [];
  const late = new Map<string, AdjustmentLine>();

  for (const e of entries) {
    if (e.amountMicros === 0n) continue;
    if (e.kind === "charge" || e.kind === "charge_adjustment") {
      const parts = callsByTxn.get(e.txnId) ?? [];
      const attributed = parts.reduce((sum, p) => sum + p.amountMicros, 0n);
      for (const p of parts) {
        if (p.callMonth >= month) monthCalls.push(p);
        else {
          const line = late.get(p.callMonth) ?? {
            at: e.at,
            kind: "late_charges" as const,
            description: `Charges for calls made in ${monthName(p.callMonth)}, settled after that month ended`,
            originalMonth: p.callMonth,
            calls: 0,
            amountMicros: 0n,
          };
          line.amountMicros += p.amountMicros;
          line.calls += 1;
          late.set(p.callMonth, line);
        }
      }
      // Never expected: a charge no call explains still counts, so the statement always equals the ledger.
      if (attributed !== e.amountMicros) {
        monthCalls.push({
          txnId: e.txnId,
          usageId: "",
          keyId: UNATTRIBUTED,
          keyName: "Unattributed",
          userId: UNATTRIBUTED,
          member: "Unattributed",
          model: "Unattributed",
          credential: "platform",
          callMonth: month,
          amountMicros: e.amountMicros - attributed,
        });
      }
    } else if (e.kind === "seat_fee") {
      const seat = seatByTxn.get(e.txnId);
      seatFees.push({
        at: e.at,
        userId: seat?.userId ?? null,
        member: seat?.member ?? "a member",
        seatMonth: seat?.seatMonth ?? month,
        amountMicros: e.amountMicros,
      });
    } else if (e.amountMicros > 0n) {
      credits.push({
        at: e.at,
        method: creditMethodOf(e.kind, e.idempotencyKey),
        description: e.reason,
        amountMicros: e.amountMicros,
        receipt: e.receipt,
      });
    } else {
      const key = e.idempotencyKey;
      const kind = key.startsWith("adjustment:stripe:refund:")
        ? "refund"
        : key.startsWith("adjustment:stripe:dispute:")
          ? "dispute"
          : "correction";
      adjustments.push({
        at: e.at,
        kind,
        description: e.reason,
        originalMonth: null,
        calls: 0,
        amountMicros: e.amountMicros,
      });
    }
  }
  adjustments.push(...[...late.values()].sort((a, b) => a.originalMonth!.localeCompare(b.originalMonth!)));

  const lines: StatementLines = {
    credits,
    chargesByModel: withCalls(
      monthCalls,
      (r) => (r.credential === "byok" ? `${r.model} (byok)` : r.model),
      (r) => (r.credential === "byok" ? `${r.model} · own provider key (BYOK fee)` : r.model),
    ),
    chargesByKey: withCalls(
      monthCalls,
      (r) => r.keyId,
      (r) => r.keyName,
    ),
    chargesByMember: withCalls(
      monthCalls,
      (r) => r.userId,
      (r) => r.member,
    ),
    seatFees,
    adjustments,
  };
  const sum = (xs: { amountMicros: bigint }[]) => xs.reduce((s, x) => s + x.amountMicros, 0n);
  const creditsMicros = sum(credits);
  const chargesMicros = sum(monthCalls);
  const seatFeesMicros = sum(seatFees);
  const adjustmentsMicros = sum(adjustments);
  const closingMicros = opening!.micros + creditsMicros + chargesMicros + seatFeesMicros + adjustmentsMicros;
  if (closingMicros !== ledgerClosing!.micros) {
    throw new Error(
      `statement of ${accountId} for ${month}: lines close at ${closingMicros}, the ledger at ${ledgerClosing!.micros}`,
    );
  }
  return {
    ...holder,
    ...lines,
    month,
    status: "open",
    number: null,
    closedAt: null,
    periodStart: start,
    periodEnd: end,
    openingMicros: opening!.micros,
    creditsMicros,
    chargesMicros,
    seatFeesMicros,
    adjustmentsMicros,
    closingMicros,
    calls: new Set(monthCalls.filter((c) => c.usageId).map((c) => c.usageId)).size,
  };
}

/** The month's calls' charges grouped one way, dearest first; calls counted once each. */
function withCalls(
  rows: CallRow[],
  id: (r: CallRow) => string,
  label: (r: CallRow) => string,
): ChargeGroup[] {
  const groups = new Map<string, ChargeGroup & { usageIds: Set<string> }>();
  for (const r of rows) {
    const key = id(r);
    const g = groups.get(key) ?? {
      id: key,
      label: label(r),
      calls: 0,
      amountMicros: 0n,
      usageIds: new Set<string>(),
    };
    g.amountMicros += r.amountMicros;
    if (r.usageId) g.usageIds.add(r.usageId);
    groups.set(key, g);
  }
  return sortGroups([...groups.values()].map(({ usageIds, ...g }) => ({ ...g, calls: usageIds.size })));
}

/** Charge groups dearest first (amounts are negative), then by label. */
export function sortGroups(groups: ChargeGroup[]): ChargeGroup[] {
  return groups.sort((a, b) =>
    a.amountMicros === b.amountMicros
      ? a.label.localeCompare(b.label)
      : a.amountMicros < b.amountMicros
        ? -1
        : 1,
  );
}
