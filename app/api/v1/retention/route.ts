import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { updateRetentionSettings } from "@/lib/retention/policy";
import { retentionSettingsBody } from "@/lib/retention/schemas";
import { retentionOverview } from "@/lib/retention/views";

/** What is kept and for how long: the platform's policy, each usage partition's day, the last retention runs. */
export const GET = withSession({ role: "admin" }, async ({ actor }) =>
  json(await retentionOverview(db(), actor)),
);

/** The platform's policy (admins; audited): usage detail, hourly roll-ups and playground conversations, in days. */
export const PATCH = withSession({ role: "admin" }, async ({ req, actor }) =>
  json({ settings: await updateRetentionSettings(db(), actor, await parseJson(req, retentionSettingsBody)) }),
);
