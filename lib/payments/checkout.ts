import "server-only";
import { randomUUID } from "node:crypto";
import type { Actor } from "@/lib/auth/types";
import { getAccount } from "@/lib/billing/ledger";
import { formatMicros } from "@/lib/billing/money";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { getBillingSettings } from "./settings";
import { MICROS_PER_CENT, stripeClient } from "./stripe";

/**
 * Starts a Stripe Checkout session for a top-up of the signed-in user's account. The amount here only opens
 * the session: the account is credited from Stripe's own event (lib/payments/webhook.ts), never from this.
 */
export async function startCheckout(
  db: Db,
  actor: Actor & { userId: string },
  amountMicros: bigint,
): Promise<{ paymentId: string; url: string }> {
  const stripe = stripeClient();
  if (!stripe)
    throw new AppError("unavailable", "Top-ups by card are off on this deployment. Ask an administrator.");
  const settings = await getBillingSettings(db);
  if (amountMicros < settings.topupMinMicros || amountMicros > settings.topupMaxMicros) {
    throw new AppError(
      "validation_failed",
      `A top-up is between ${formatMicros(settings.topupMinMicros)} and ${formatMicros(settings.topupMaxMicros)}.`,
      { issues: [{ path: "amountMicros", message: "outside the allowed range" }] },
    );
  }
  const account = await getAccount(db, { userId: actor.userId });
  if (!account) throw new AppError("not_found", "Account was not found.");
  const paymentId = randomUUID();
  const appUrl = config().APP_URL.replace(/\/$/, "");
  const session = await stripe.checkout.sessions.create(
    {
      mode: "payment",
      client_reference_id: account.id,
      customer_email: account.ownerEmail ?? undefined,
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: "usd",
            unit_amount: Number(amountMicros / MICROS_PER_CENT),
            product_data: {
              name: "Tollgate credit",
              description: `Prepaid balance for ${account.ownerEmail}`,
            },
          },
        },
      ],
      metadata: { paymentId, accountId: account.id, userId: actor.userId },
      success_url: `${appUrl}/account/billing?payment=success`,
      cancel_url: `${appUrl}/account/billing?payment=cancelled`,
    },
    { idempotencyKey: `checkout:${paymentId}` },
  );
  await db`
    insert into payments (id, account_id, user_id, stripe_session_id, amount_micros, currency)
    values (${paymentId}, ${account.id}, ${actor.userId}, ${session.id}, ${amountMicros}, 'usd')`;
  if (!session.url) throw new AppError("unavailable", "Stripe did not return a Checkout page. Try again.");
  return { paymentId, url: session.url };
}
