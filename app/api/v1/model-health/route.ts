import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { gatewayHealth, modelHealth } from "@/lib/routing/health";

/** Per model group over the last hour and day (usage data) and which models the gateway rests now. */
export const GET = withSession({ role: "admin" }, async ({ actor }) => {
  const now = new Date();
  const [hour, day, gateway] = await Promise.all([
    modelHealth(db(), actor, now, 1),
    modelHealth(db(), actor, now, 24),
    gatewayHealth(actor),
  ]);
  return json({ at: now.toISOString(), hour, day, gateway });
});
