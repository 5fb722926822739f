import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { startCheckout } from "@/lib/payments/checkout";
import { checkoutBody } from "@/lib/payments/schemas";

/**
 * Opens a Stripe Checkout page for a top-up of the organization's account (its owners and billing members); the
 * account is credited by Stripe's webhook, not by this.
 */
export const POST = withSession({}, async ({ req, actor, principal, params }) => {
  const { amountMicros } = await parseJson(req, checkoutBody);
  return json(
    await startCheckout(db(), { ...actor, userId: principal.userId }, amountMicros, {
      org: params.org ?? "",
    }),
    { status: 201 },
  );
});
