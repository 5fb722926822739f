import type Stripe from "stripe";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { readText } from "@/lib/http/body";
import { AppError } from "@/lib/http/errors";
import { route } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { stripeClient } from "@/lib/payments/stripe";
import { handleStripeEvent } from "@/lib/payments/webhook";

/**
 * Stripe's events. The raw body is verified with the library's constructEvent (signature and a 5-minute
 * window) before anything is read; a forged or stale event writes nothing.
 */
export const POST = route(async ({ req }) => {
  const stripe = stripeClient();
  const secret = config().STRIPE_WEBHOOK_SECRET;
  if (!stripe || !secret) throw new AppError("not_found", "Card top-ups are off on this deployment.");
  const body = await readText(req, 1024 * 1024);
  let event: Stripe.Event;
  try {
    event = stripe.webhooks.constructEvent(body, req.headers.get("stripe-signature") ?? "", secret, 300);
  } catch (error) {
    throw new AppError("invalid_signature", `Webhook refused: ${(error as Error).message}`);
  }
  return json(await handleStripeEvent(db(), event));
});
