import "server-only";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict } from "@/lib/http/errors";
import { enqueue } from "@/lib/queue";
import { assertAdmin } from "@/lib/users/assert-admin";
import { computeStatement, monthBounds } from "./compute";
import { snapshotToJson } from "./read";

/** Closes every account's statement of a UTC month (payload { month: "YYYY-MM" }). */
export const STATEMENTS_CLOSE_JOB = "statements.close";

export interface CloseResult {
  month: string;
  closed: boolean;
  statements: number;
  firstNumber: string | null;
  lastNumber: string | null;
}

/**
 * Closes a UTC month: in one transaction, a numbered, immutable statement (the table is append-only) for every
 * person's and organization's account with a ledger entry before the month's end, numbered from the operator's
 * gapless counter (ST-<year>-<number>, in account order). Only a month that has ended (at tollgate_now()) and whose
 * last day's settlement has completed; a month already closed changes nothing (idempotent, a job may run twice).
 */
export async function closeMonth(db: Db, actor: Actor, month: string): Promise<CloseResult> {
  assertAdmin(actor);
  const { end } = monthBounds(month);
  const lastDay = new Date(end.getTime() - 86_400_000).toISOString().slice(0, 10);
  return inTransaction(db, async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('statements.close'))`;
    const [done] = await tx<{ statements: number }[]>`
      select statements from statement_months where month = ${`${month}-01`}::date`;
    if (done)
      return { month, closed: false, statements: done.statements, firstNumber: null, lastNumber: null };
    const [state] = await tx<{ ended: boolean; settled: boolean }[]>`
      select tollgate_now() >= ${end} as ended,
             exists (select 1 from settlement_runs where day = ${lastDay}::date and status = 'completed') as settled`;
    if (!state!.ended) throw conflict(`${month} has not ended yet (UTC): only an ended month is closed.`);
    if (!state!.settled) {
      throw conflict(
        `The settlement of ${lastDay}, the last day of ${month}, has not completed: close after it.`,
      );
    }
    const accounts = await tx<{ id: string }[]>`
      select a.id from accounts a
      where a.kind in ('user', 'team') and exists (
        select 1 from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
        where e.account_id = a.id and t.created_at < ${end})
      order by a.kind desc, a.id`;
    const labels: string[] = [];
    for (const { id } of accounts) {
      const s = await computeStatement(tx, id, month);
      const [n] = await tx<{ number: bigint }[]>`
        update document_counters set last_number = last_number + 1 where kind = 'statement' returning last_number as number`;
      const label = `ST-${month.slice(0, 4)}-${String(n!.number).padStart(6, "0")}`;
      const lines = {
        credits: s.credits,
        chargesByModel: s.chargesByModel,
        chargesByKey: s.chargesByKey,
        chargesByMember: s.chargesByMember,
        seatFees: s.seatFees,
        adjustments: s.adjustments,
        calls: s.calls,
      };
      await tx`
        insert into statements (account_id, month, number, label, opening_micros, credits_micros, charges_micros,
                                seat_fees_micros, adjustments_micros, closing_micros, lines)
        values (${id}, ${`${month}-01`}::date, ${n!.number}, ${label}, ${s.openingMicros}, ${s.creditsMicros},
                ${s.chargesMicros}, ${s.seatFeesMicros}, ${s.adjustmentsMicros}, ${s.closingMicros},
                ${tx.json(snapshotToJson(lines) as never)})`;
      labels.push(label);
    }
    await tx`insert into statement_months (month, statements) values (${`${month}-01`}::date, ${labels.length})`;
    return {
      month,
      closed: true,
      statements: labels.length,
      firstNumber: labels[0] ?? null,
      lastNumber: labels.at(-1) ?? null,
    };
  });
}

/**
 * The daily cron's part: every ended month not closed yet whose last day's settlement has completed gets its
 * closing job (once: the singleton key). Months before the first ledger entry have nothing to close.
 */
export async function enqueueStatementClosings(db: Db): Promise<{ enqueued: string[] }> {
  const due = await db<{ month: string }[]>`
    with first as (
      select date_trunc('month', min(created_at) at time zone 'utc')::date as first_month from ledger_transactions
    ),
    months as (
      select s.m::date as m
      from first, generate_series(first.first_month,
                                  date_trunc('month', tollgate_now() at time zone 'utc')::date - interval '1 month',
                                  interval '1 month') as s(m)
      where first.first_month is not null
    )
    select to_char(m, 'YYYY-MM') as month
    from months
    where not exists (select 1 from statement_months sm where sm.month = months.m)
      and exists (select 1 from settlement_runs r where r.status = 'completed'
                  and r.day = (months.m + interval '1 month' - interval '1 day')::date)
    order by m`;
  const enqueued: string[] = [];
  for (const { month } of due) {
    const { created } = await enqueue(
      db,
      STATEMENTS_CLOSE_JOB,
      { month },
      { singletonKey: `${STATEMENTS_CLOSE_JOB}:${month}`, maxAttempts: 10, backoffBaseMs: 60_000 },
    );
    if (created) enqueued.push(month);
  }
  return { enqueued };
}

/** The closing job: a month not ready yet is an error the queue retries. */
export async function runStatementClose(db: Db, payload: { month?: unknown }): Promise<CloseResult> {
  if (typeof payload.month !== "string" || !/^\d{4}-\d{2}$/.test(payload.month)) {
    throw new AppError("validation_failed", "statements.close needs { month: YYYY-MM }");
  }
  return closeMonth(db, { userId: null, kind: "system" }, payload.month);
}
