import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { billingSettingsBody } from "@/lib/payments/schemas";
import { getBillingSettings, updateBillingSettings } from "@/lib/payments/settings";

/** Top-up bounds and presets (everyone: the top-up form uses them) and the low-balance default. */
export const GET = withSession({}, async () => json({ settings: await getBillingSettings(db()) }));

export const PATCH = withSession({ role: "admin" }, async ({ req, actor }) =>
  json({ settings: await updateBillingSettings(db(), actor, await parseJson(req, billingSettingsBody)) }),
);
