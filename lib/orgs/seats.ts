import "server-only";
import { z } from "zod";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { checkLowBalances } from "@/lib/billing/low-balance";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, forbidden } from "@/lib/http/errors";
import { enqueue } from "@/lib/queue";
import { orgAllows, orgFor } from "./access";
import { ORG_SEAT_JOIN_JOB, ORG_SEATS_MONTH_JOB, ORG_SEATS_RETRY_JOB } from "./jobs";

// Seat fees (ADR 0016, decision 7): an organization whose plan prices a seat (plans.seat_price_micros) pays it per
// member and UTC month from its own account. The money rules are SQL functions, one each: charge_seat (once per
// organization, member and month; paid at once or left due), pay_due_seats (oldest first, when money came in) and
// seat_prorated (the share of a month a member who joins during it pays). The month a member joined is theirs to pay
// prorated (the join job); every later month is paid in full (the month job), so each seat is charged by exactly one
// of the two, and charge_seat makes a second charge of it change nothing.

/** Seat charges are made by the queue, not by a person. */
const SEATS_ACTOR: Actor = { userId: null, kind: "system" };

/** The first day of a UTC month, YYYY-MM-01. */
const monthDay = () =>
  z.iso.date().refine((value) => value.endsWith("-01"), "must be the first day of a month (YYYY-MM-01)");

export const seatMonthPayload = z.strictObject({ month: monthDay() });
export const seatJoinPayload = z.strictObject({ organizationId: z.uuid(), userId: z.uuid() });
export const seatsRetryPayload = z.strictObject({ accountId: z.uuid() });

export interface SeatCharge {
  status: "paid" | "due";
  amountMicros: bigint;
  ledgerTransactionId: string | null;
  paidAt: Date | null;
  /** Whether this call charged the seat (false: it was charged before, and nothing changed). */
  charged: boolean;
}

interface SeatToCharge {
  organizationId: string;
  accountId: string;
  userId: string;
  /** YYYY-MM-01. */
  month: string;
  amountMicros: bigint;
  /** What the audit log says the fee was for. */
  basis: "month" | "join";
}

/**
 * Charges one seat (charge_seat) and records it in the audit log in the same transaction; a seat charged before
 * changes nothing and writes nothing. A fee paid lowers the balance, so the low-balance notice is checked.
 */
async function chargeSeat(db: Db, seat: SeatToCharge): Promise<SeatCharge | null> {
  return inTransaction(db, async (tx) => {
    const [row] = await tx<SeatCharge[]>`
      select c.status, c.amount_micros as "amountMicros", c.ledger_transaction_id as "ledgerTransactionId",
             c.paid_at as "paidAt", c.charged
      from charge_seat(${seat.organizationId}, ${seat.userId}, ${seat.month}::date,
                       ${seat.amountMicros.toString()}::bigint) c`;
    if (!row?.charged) return row ?? null;
    await recordAudit(tx, SEATS_ACTOR, {
      action: "org.seat.charge",
      targetType: "organization",
      targetId: seat.organizationId,
      after: {
        userId: seat.userId,
        month: seat.month,
        basis: seat.basis,
        amountMicros: row.amountMicros,
        status: row.status,
      },
    });
    // Paying it may also have paid older fees due: either way the balance went down.
    await checkLowBalances(tx, [seat.accountId]);
    return row;
  });
}

export interface SeatMonthSummary {
  month: string;
  /** Seats charged by this run (a seat charged before is not counted again). */
  charged: number;
  paid: number;
  due: number;
  /** Decimal strings: a job's result is stored as JSON. */
  paidMicros: string;
  dueMicros: string;
}

/**
 * The month job: every member (of every role: owners, admins, members and billing members each hold a seat) of
 * every active organization whose plan prices a seat pays the full fee for `month`, except members who joined
 * during it (their prorated seat is the join job's). Running it again, or twice at once, charges nobody twice. A
 * month after the current UTC month (by tollgate_now()) is refused: seats are not charged ahead.
 */
export async function chargeSeatsForMonth(db: Db, payload: unknown): Promise<SeatMonthSummary> {
  const { month } = seatMonthPayload.parse(payload);
  const [ahead] = await db<{ ahead: boolean }[]>`
    select ${month}::date > date_trunc('month', tollgate_now() at time zone 'utc')::date as ahead`;
  if (ahead?.ahead)
    throw new AppError("validation_failed", `Seats for ${month} are not charged before it starts.`);
  const seats = await db<Omit<SeatToCharge, "month" | "basis">[]>`
    select o.id as "organizationId", a.id as "accountId", m.user_id as "userId",
           p.seat_price_micros as "amountMicros"
    from organizations o
    join accounts a on a.organization_id = o.id
    join plans p on p.id = a.plan_id
    join organization_members m on m.organization_id = o.id
    where o.status = 'active' and p.seat_price_micros > 0
      and m.joined_at < (${month}::date::timestamp at time zone 'utc')
      and not exists (select 1 from seat_charges c
                      where c.organization_id = o.id and c.user_id = m.user_id and c.month = ${month}::date)
    order by o.id, m.joined_at, m.user_id`;
  const summary = { month, charged: 0, paid: 0, due: 0, paidMicros: 0n, dueMicros: 0n };
  for (const seat of seats) {
    const row = await chargeSeat(db, { ...seat, month, basis: "month" });
    if (!row?.charged) continue;
    summary.charged++;
    if (row.status === "paid") {
      summary.paid++;
      summary.paidMicros += row.amountMicros;
    } else {
      summary.due++;
      summary.dueMicros += row.amountMicros;
    }
  }
  return { ...summary, paidMicros: summary.paidMicros.toString(), dueMicros: summary.dueMicros.toString() };
}

/** A joining member's seat as the job's result stores it (JSON: money as a decimal string). */
export interface SeatJoinResult {
  month: string;
  amountMicros: string;
  status: "paid" | "due";
  /** False when the seat was charged before (by the month job, or an earlier join): nothing changed. */
  charged: boolean;
}

/**
 * The join job (and what an organization's creation calls for its owner): the seat of the UTC month the member
 * joined in, prorated from the day they joined (seat_prorated over organization_members.joined_at, so a job run
 * after a month end still charges the month they joined, at the day they joined). Nothing when the organization's
 * plan prices no seat, the organization is suspended, or the person is no longer a member. Charged once whoever
 * asks: the invitation's acceptance and the organization's creation may both ask for the owner's seat.
 */
export async function chargeJoiningSeat(db: Db, payload: unknown): Promise<SeatJoinResult | null> {
  const { organizationId, userId } = seatJoinPayload.parse(payload);
  const [seat] = await db<Omit<SeatToCharge, "basis">[]>`
    select o.id as "organizationId", a.id as "accountId", m.user_id as "userId",
           to_char(date_trunc('month', m.joined_at at time zone 'utc'), 'YYYY-MM-DD') as month,
           seat_prorated(p.seat_price_micros, (m.joined_at at time zone 'utc')::date) as "amountMicros"
    from organization_members m
    join organizations o on o.id = m.organization_id
    join accounts a on a.organization_id = o.id
    join plans p on p.id = a.plan_id
    where m.organization_id = ${organizationId} and m.user_id = ${userId}
      and o.status = 'active' and p.seat_price_micros > 0`;
  if (!seat) return null;
  const row = await chargeSeat(db, { ...seat, basis: "join" });
  if (!row) return null;
  return {
    month: seat.month,
    amountMicros: row.amountMicros.toString(),
    status: row.status,
    charged: row.charged,
  };
}

/**
 * The retry job, after money came in (a top-up, a redeemed code, an admin credit): pays the account's due seat fees,
 * oldest first, while its available money covers each (pay_due_seats). When none is left due, its keys make calls
 * again. Each fee paid is audited.
 */
export async function payDueSeats(
  db: Db,
  payload: unknown,
): Promise<{ paid: number; paidMicros: string; dueMicros: string }> {
  const { accountId } = seatsRetryPayload.parse(payload);
  return inTransaction(db, async (tx) => {
    const paid = await tx<{ organizationId: string; userId: string; month: string; amountMicros: bigint }[]>`
      select p.user_id as "userId", to_char(p.month, 'YYYY-MM-DD') as month, p.amount_micros as "amountMicros",
             a.organization_id as "organizationId"
      from pay_due_seats(${accountId}) p join accounts a on a.id = ${accountId}`;
    let paidMicros = 0n;
    for (const fee of paid) {
      paidMicros += fee.amountMicros;
      await recordAudit(tx, SEATS_ACTOR, {
        action: "org.seat.pay",
        targetType: "account",
        targetId: accountId,
        after: fee,
      });
    }
    if (paid.length) await checkLowBalances(tx, [accountId]);
    const [account] = await tx<{ dueMicros: bigint }[]>`
      select seats_due_micros as "dueMicros" from accounts where id = ${accountId}`;
    return {
      paid: paid.length,
      paidMicros: paidMicros.toString(),
      dueMicros: (account?.dueMicros ?? 0n).toString(),
    };
  });
}

/**
 * Enqueues the month job of the current UTC month (by tollgate_now()) unless it was enqueued before: called by the
 * daily cron (app/api/cron/grants), so it runs once a month whatever the tick rate, and the first tick after a missed
 * one catches up. Should the queue's archive have dropped the finished job, a second run charges nobody again.
 */
export async function enqueueSeatMonth(db: Db): Promise<{ month: string; enqueued: boolean }> {
  const month = await currentSeatMonth(db);
  const [seen] = await db`select 1 from queue_jobs where singleton_key = ${seatMonthKey(month)} limit 1`;
  if (seen) return { month, enqueued: false };
  const { created } = await enqueueMonthJob(db, month);
  return { month, enqueued: created };
}

/** The current UTC month by tollgate_now(), YYYY-MM-01. */
async function currentSeatMonth(db: Db): Promise<string> {
  const [row] = await db<{ month: string }[]>`
    select to_char(date_trunc('month', tollgate_now() at time zone 'utc'), 'YYYY-MM-DD') as month`;
  return row!.month;
}

/** One month job of a month at a time, whoever enqueues it (the cron, a reinstatement). */
const seatMonthKey = (month: string) => `${ORG_SEATS_MONTH_JOB}:${month}`;
const enqueueMonthJob = (db: Db, month: string) =>
  enqueue(db, ORG_SEATS_MONTH_JOB, { month }, { singletonKey: seatMonthKey(month), maxAttempts: 8 });

/**
 * When a suspended organization is reinstated (lib/orgs/update.ts, in its transaction): the seats of the current UTC
 * month its suspension skipped. The month job again (it skips suspended organizations; a second run charges nobody
 * twice), and the join job of each member who joined this month and has no seat charge for it: the month job leaves a
 * month's joiners to the join job, which charges nothing while the organization is suspended (a join job that ran
 * then, for a member who joined just before the suspension or on an invitation accepted as it began). Months wholly
 * suspended are not charged. Returns the members whose join job was enqueued.
 */
export async function enqueueSeatsAfterReinstatement(db: Db, organizationId: string): Promise<string[]> {
  const month = await currentSeatMonth(db);
  await enqueueMonthJob(db, month);
  const joiners = await db<{ userId: string }[]>`
    select m.user_id as "userId" from organization_members m
    where m.organization_id = ${organizationId}
      and m.joined_at >= (${month}::date::timestamp at time zone 'utc')
      and not exists (select 1 from seat_charges c
                      where c.organization_id = m.organization_id and c.user_id = m.user_id
                        and c.month = ${month}::date)
    order by m.joined_at, m.user_id`;
  for (const { userId } of joiners) await enqueue(db, ORG_SEAT_JOIN_JOB, { organizationId, userId });
  return joiners.map((j) => j.userId);
}

/**
 * The daily catch-up (app/api/cron/grants): a retry for every organization account with fees due whose available
 * money now covers the oldest of them, whatever brought the money in (a credit enqueues its own: moneyCameIn in
 * lib/billing/low-balance.ts; this catches what a call's hold released, or a path that enqueued none), unless one
 * is waiting to start (one already running may have read the balance before this money, so it does not count).
 * Returns how many were enqueued.
 */
export async function enqueueDueSeatRetries(db: Db): Promise<number> {
  const accounts = await db<{ id: string }[]>`
    select a.id from accounts a
    where a.kind = 'team' and a.seats_due_micros > 0
      and a.balance_micros - a.held_micros >= (
        select c.amount_micros from seat_charges c
        where c.organization_id = a.organization_id and c.status = 'due'
        order by c.month, c.created_at, c.user_id limit 1)
      and not exists (select 1 from queue_jobs q
                      where q.name = ${ORG_SEATS_RETRY_JOB} and q.state in ('created', 'retry')
                        and q.payload->>'accountId' = a.id::text)`;
  for (const { id } of accounts) {
    await enqueue(db, ORG_SEATS_RETRY_JOB, { accountId: id }, { maxAttempts: 8, backoffBaseMs: 5_000 });
  }
  return accounts.length;
}

export interface SeatChargeRow {
  userId: string;
  email: string;
  name: string;
  /** The UTC month, YYYY-MM-01. */
  month: string;
  amountMicros: bigint;
  status: "paid" | "due";
  chargedAt: Date;
  paidAt: Date | null;
}

export interface SeatCharges {
  items: SeatChargeRow[];
  total: number;
  /** What the organization owes in unpaid seat fees: while above zero, its keys make no new calls. */
  dueMicros: bigint;
  /** The seat price of the organization's plan (null: its plan prices no seat, or it has none). */
  seatPriceMicros: bigint | null;
  planName: string | null;
}

/**
 * An organization's seat charges, newest month first, with what is due: for its owners, admins and billing members
 * (the roles with the billing or the settings verb) and platform admins.
 */
export async function listSeatCharges(
  db: Db,
  actor: Actor,
  orgRef: string,
  { page, pageSize, month }: { page: number; pageSize: number; month?: string },
): Promise<SeatCharges> {
  const org = await orgFor(db, actor, orgRef, "view");
  const admin = actsAsPlatformAdmin(actor);
  if (!orgAllows(org, "billing", admin) && !orgAllows(org, "settings", admin)) {
    throw forbidden(`Your role in ${org.name} (${org.role}) does not allow seeing its seat fees.`);
  }
  const filter = month ? db`and c.month = ${month}::date` : db``;
  const [items, [summary]] = await Promise.all([
    db<SeatChargeRow[]>`
      select c.user_id as "userId", u.email, u.name, to_char(c.month, 'YYYY-MM-DD') as month,
             c.amount_micros as "amountMicros", c.status, c.created_at as "chargedAt", c.paid_at as "paidAt"
      from seat_charges c join users u on u.id = c.user_id
      where c.organization_id = ${org.id} ${filter}
      order by c.month desc, c.created_at desc, u.email
      limit ${pageSize} offset ${(page - 1) * pageSize}`,
    db<{ total: number; dueMicros: bigint; seatPriceMicros: bigint | null; planName: string | null }[]>`
      select (select count(*)::int from seat_charges c where c.organization_id = ${org.id} ${filter}) as total,
             a.seats_due_micros as "dueMicros", p.seat_price_micros as "seatPriceMicros", p.name as "planName"
      from accounts a left join plans p on p.id = a.plan_id
      where a.id = ${org.accountId}`,
  ]);
  return {
    items,
    total: summary!.total,
    dueMicros: summary!.dueMicros,
    seatPriceMicros: summary!.seatPriceMicros,
    planName: summary!.planName,
  };
}
