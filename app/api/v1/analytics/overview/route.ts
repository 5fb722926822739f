import { overview } from "@/lib/analytics/overview";
import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The admin's landing figures: today and the last 30 days, tops, low accounts, reservations, alerts. */
export const GET = withSession({ role: "admin" }, async ({ actor }) => json(await overview(db(), actor)));
