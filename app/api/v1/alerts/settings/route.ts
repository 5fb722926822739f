import { getAlertSettings, updateAlertSettings } from "@/lib/analytics/alerts";
import { alertSettingsBody } from "@/lib/analytics/schemas";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** Where alert notices go and the secret they are signed with (admins only). */
export const GET = withSession({ role: "admin" }, async ({ actor }) =>
  json({ settings: await getAlertSettings(db(), actor) }),
);

export const PATCH = withSession({ role: "admin" }, async ({ req, actor }) =>
  json({ settings: await updateAlertSettings(db(), actor, await parseJson(req, alertSettingsBody)) }),
);
