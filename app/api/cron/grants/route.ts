import { db } from "@/lib/db";
import { withCron } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { grantMonthlyCredits } from "@/lib/plans/manage";

/** Daily (vercel.json): plans' monthly credits, once per account and UTC month. */
export const GET = withCron(async ({ actor }) => json(await grantMonthlyCredits(db(), actor)));
