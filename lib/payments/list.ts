import "server-only";
import type { Actor } from "@/lib/auth/types";
import type { Db } from "@/lib/db/client";
import { assertAdmin } from "@/lib/users/assert-admin";
import type { Payment } from "./types";

const paymentColumns = (db: Db) => db`
  p.id, p.account_id as "accountId", u.email as "userEmail", p.status, p.amount_micros as "amountMicros",
  p.paid_micros as "paidMicros", p.refunded_micros as "refundedMicros", p.currency,
  p.stripe_session_id as "stripeSessionId", p.stripe_payment_intent_id as "stripePaymentIntentId",
  p.failure_reason as "failureReason", p.created_at as "createdAt", p.completed_at as "completedAt"`;

/** Every payment, newest first (admins). */
export async function listPayments(db: Db, actor: Actor, { limit = 200 } = {}): Promise<Payment[]> {
  assertAdmin(actor);
  return db<Payment[]>`
    select ${paymentColumns(db)} from payments p join users u on u.id = p.user_id
    order by p.created_at desc limit ${limit}`;
}

/** The signed-in user's own payments, newest first. */
export async function listMyPayments(db: Db, actor: Actor & { userId: string }): Promise<Payment[]> {
  return db<Payment[]>`
    select ${paymentColumns(db)} from payments p join users u on u.id = p.user_id
    where p.user_id = ${actor.userId}
    order by p.created_at desc limit 100`;
}
