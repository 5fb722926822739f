import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { operatorSettingsBody } from "@/lib/statements/schemas";
import { getOperatorSettings, updateOperatorSettings } from "@/lib/statements/settings";

/** What statements and receipts print about the operator: legal name, address, tax id, contact email, footer. */
export const GET = withSession({ role: "admin" }, async () =>
  json({ settings: await getOperatorSettings(db()) }),
);

export const PATCH = withSession({ role: "admin" }, async ({ req, actor }) =>
  json({ settings: await updateOperatorSettings(db(), actor, await parseJson(req, operatorSettingsBody)) }),
);
