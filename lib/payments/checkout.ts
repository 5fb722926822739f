import "server-only";
import { randomUUID } from "node:crypto";
import type { Actor } from "@/lib/auth/types";
import { getAccount } from "@/lib/billing/ledger";
import { formatMicros } from "@/lib/billing/money";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { orgFor } from "@/lib/orgs/access";
import { getBillingSettings } from "./settings";
import { MICROS_PER_CENT, stripeClient } from "./stripe";

/**
 * Starts a Stripe Checkout session for a top-up of the signed-in user's account, or (org: slug or id) of an
 * organization's whose role tops it up (the billing verb: owners and billing members; 404 to non-members, 403 to
 * other roles). The amount here only opens the session: the account is credited from Stripe's own event
 * (lib/payments/webhook.ts), never from this.
 */
export async function startCheckout(
  db: Db,
  actor: Actor & { userId: string },
  amountMicros: bigint,
  { org }: { org?: string } = {},
): Promise<{ paymentId: string; url: string }> {
  const organization = org !== undefined ? await orgFor(db, actor, org, "billing") : null;
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
  const account = await getAccount(
    db,
    organization ? { id: organization.accountId } : { userId: actor.userId },
  );
  if (!account) throw new AppError("not_found", "Account was not found.");
  // The payer is the signed-in user: Stripe's receipt goes to them, also for an organization's top-up.
  const [payer] = await db<{ email: string }[]>`select email from users where id = ${actor.userId}`;
  const appUrl = config().APP_URL.replace(/\/$/, "");
  const returnTo = organization ? `${appUrl}/orgs/${organization.slug}/billing` : `${appUrl}/account/billing`;
  const paymentId = randomUUID();
  const session = await stripe.checkout.sessions.create(
    {
      mode: "payment",
      client_reference_id: account.id,
      customer_email: payer?.email,
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: "usd",
            unit_amount: Number(amountMicros / MICROS_PER_CENT),
            product_data: {
              name: "Tollgate credit",
              description: `Prepaid balance for ${organization ? organization.name : account.ownerEmail}`,
            },
          },
        },
      ],
      metadata: { paymentId, accountId: account.id, userId: actor.userId },
      success_url: `${returnTo}?payment=success`,
      cancel_url: `${returnTo}?payment=cancelled`,
    },
    { idempotencyKey: `checkout:${paymentId}` },
  );
  await db`
    insert into payments (id, account_id, user_id, stripe_session_id, amount_micros, currency)
    values (${paymentId}, ${account.id}, ${actor.userId}, ${session.id}, ${amountMicros}, 'usd')`;
  if (!session.url) throw new AppError("unavailable", "Stripe did not return a Checkout page. Try again.");
  return { paymentId, url: session.url };
}
