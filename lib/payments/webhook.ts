import "server-only";
import type Stripe from "stripe";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { creditAccount } from "@/lib/billing/ledger";
import { type Db, inTransaction, type Tx } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { emitEvent } from "@/lib/webhooks/emit";
import { MICROS_PER_CENT } from "./stripe";

const SYSTEM: Actor = { userId: null, kind: "system" };

interface PaymentRow {
  id: string;
  account_id: string;
  status: string;
  paid_micros: bigint;
  refunded_micros: bigint;
}

const idOf = (value: string | { id: string } | null | undefined) =>
  typeof value === "string" ? value : (value?.id ?? null);

/**
 * Applies one verified Stripe event, once (stripe_events), in one transaction. Money comes from Stripe's event
 * only: a completed Checkout session credits what Stripe says was paid (in USD), idempotent by event and by
 * session; a refund or a lost dispute takes the money back as a reasoned adjustment. An event about a payment
 * not known yet (events arrive in any order) is refused with 409, so Stripe delivers it again later.
 */
export async function handleStripeEvent(
  db: Db,
  event: Stripe.Event,
): Promise<{ handled: boolean; duplicate: boolean }> {
  return inTransaction(db, async (tx) => {
    const [fresh] = await tx`
      insert into stripe_events (event_id, type) values (${event.id}, ${event.type})
      on conflict (event_id) do nothing returning event_id`;
    if (!fresh) return { handled: false, duplicate: true };
    switch (event.type) {
      case "checkout.session.completed":
      case "checkout.session.async_payment_succeeded":
        return { handled: await completed(tx, event.data.object), duplicate: false };
      case "checkout.session.expired":
      case "checkout.session.async_payment_failed": {
        const status = event.type === "checkout.session.expired" ? "expired" : "failed";
        await tx`update payments set status = ${status}, completed_at = now()
                 where stripe_session_id = ${event.data.object.id} and status = 'pending'`;
        return { handled: true, duplicate: false };
      }
      case "charge.succeeded":
      case "charge.updated":
        return { handled: await receiptUrl(tx, event.data.object), duplicate: false };
      case "charge.refunded":
        await receiptUrl(tx, event.data.object);
        return { handled: await refunded(tx, event.data.object), duplicate: false };
      case "charge.dispute.closed":
        return { handled: await disputeClosed(tx, event.data.object), duplicate: false };
      default:
        return { handled: false, duplicate: false };
    }
  });
}

async function completed(tx: Tx, session: Stripe.Checkout.Session): Promise<boolean> {
  if (session.payment_status !== "paid") return false; // an async payment: its own event follows
  let [payment] = await tx<PaymentRow[]>`
    select id, account_id, status, paid_micros, refunded_micros from payments
    where stripe_session_id = ${session.id} for update`;
  if (!payment) {
    // The event can beat our own insert after creating the session: the session's metadata names the account (the
    // payer's own, or the organization's they topped up: paid money is credited even if their role changed since).
    const accountId = session.metadata?.accountId;
    const userId = session.metadata?.userId;
    if (!accountId || !userId) return false; // not one of ours
    [payment] = await tx<PaymentRow[]>`
      insert into payments (id, account_id, user_id, stripe_session_id, amount_micros, currency)
      select coalesce(${session.metadata?.paymentId ?? null}::uuid, gen_random_uuid()), a.id, ${userId},
             ${session.id}, greatest(${BigInt(session.amount_total ?? 0) * MICROS_PER_CENT}, 1), ${session.currency ?? "usd"}
      from accounts a where a.id = ${accountId} and (a.owner_user_id = ${userId} or a.kind = 'team')
      on conflict (stripe_session_id) do nothing
      returning id, account_id, status, paid_micros, refunded_micros`;
    if (!payment) return false;
  }
  if (payment.status !== "pending") return false;
  if (session.currency !== "usd") {
    await tx`update payments set status = 'failed', failure_reason = ${`currency ${session.currency} is not accepted`},
                                 completed_at = now() where id = ${payment.id}`;
    return false;
  }
  const paidMicros = BigInt(session.amount_total ?? 0) * MICROS_PER_CENT;
  if (paidMicros <= 0n) return false;
  await creditAccount(tx, SYSTEM, {
    accountId: payment.account_id,
    amountMicros: paidMicros,
    kind: "topup",
    reason: `Card top-up (Stripe Checkout ${session.id})`,
    idempotencyKey: `stripe:session:${session.id}`,
  });
  await tx`
    update payments set status = 'paid', paid_micros = ${paidMicros}, completed_at = now(),
                        stripe_payment_intent_id = ${idOf(session.payment_intent)}
    where id = ${payment.id}`;
  await emitEvent(tx, {
    accountId: payment.account_id,
    type: "topup.succeeded",
    payload: {
      paymentId: payment.id,
      accountId: payment.account_id,
      amountMicros: Number(paidMicros),
      currency: "usd",
    },
    dedupKey: `topup.succeeded:${payment.id}`,
  });
  return true;
}

async function paymentByIntent(tx: Tx, paymentIntent: string | null, what: string): Promise<PaymentRow> {
  const [payment] = paymentIntent
    ? await tx<PaymentRow[]>`
        select id, account_id, status, paid_micros, refunded_micros from payments
        where stripe_payment_intent_id = ${paymentIntent} for update`
    : [];
  if (!payment) {
    throw new AppError(
      "conflict",
      `No completed payment for ${what} yet: deliver it again after the payment.`,
    );
  }
  return payment;
}

/** Takes money back for a refund or a lost dispute: forced (the money is gone), reasoned, audited. */
async function takeBack(
  tx: Tx,
  payment: PaymentRow,
  amountMicros: bigint,
  status: string,
  reason: string,
  key: string,
) {
  const room = payment.paid_micros - payment.refunded_micros;
  const amount = amountMicros > room ? room : amountMicros;
  if (amount <= 0n) return false;
  await creditAccount(tx, SYSTEM, {
    accountId: payment.account_id,
    amountMicros: -amount,
    kind: "adjustment",
    reason,
    idempotencyKey: key,
    force: true,
  });
  await tx`update payments set refunded_micros = refunded_micros + ${amount}, status = ${status} where id = ${payment.id}`;
  await recordAudit(tx, SYSTEM, {
    action: `payment.${status}`,
    targetType: "payment",
    targetId: payment.id,
    after: { amountMicros: amount, reason },
  });
  return true;
}

/** Keeps Stripe's own receipt link of a card payment (the Charge's receipt_url), which our receipt shows. */
async function receiptUrl(tx: Tx, charge: Stripe.Charge): Promise<boolean> {
  const url = charge.receipt_url;
  if (!url?.startsWith("https://") || url.length > 2000) return false;
  const payment = await paymentByIntent(tx, idOf(charge.payment_intent), `charge ${charge.id}`);
  await tx`update payments set stripe_receipt_url = ${url} where id = ${payment.id}`;
  return true;
}

async function refunded(tx: Tx, charge: Stripe.Charge): Promise<boolean> {
  const payment = await paymentByIntent(tx, idOf(charge.payment_intent), `refund of ${charge.id}`);
  // amount_refunded is cumulative: take back what has not been taken yet.
  const total = BigInt(charge.amount_refunded) * MICROS_PER_CENT;
  const status = total >= payment.paid_micros ? "refunded" : "partially_refunded";
  return takeBack(
    tx,
    payment,
    total - payment.refunded_micros,
    status,
    `Card refund (Stripe ${charge.id})`,
    `stripe:refund:${charge.id}:${charge.amount_refunded}`,
  );
}

async function disputeClosed(tx: Tx, dispute: Stripe.Dispute): Promise<boolean> {
  if (dispute.status !== "lost") return false;
  const payment = await paymentByIntent(tx, idOf(dispute.payment_intent), `dispute ${dispute.id}`);
  return takeBack(
    tx,
    payment,
    BigInt(dispute.amount) * MICROS_PER_CENT,
    "disputed",
    `Card dispute lost (Stripe ${dispute.id})`,
    `stripe:dispute:${dispute.id}`,
  );
}
