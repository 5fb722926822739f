import { db } from "@/lib/db";
import { withCron } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { enqueueSeatMonth } from "@/lib/orgs/seats";
import { grantMonthlyCredits } from "@/lib/plans/manage";

/**
 * Daily (vercel.json): plans' monthly credits, once per account and UTC month; and the UTC month's seat fees of
 * organizations, enqueued once per month (the first tick of a month, or the next after a missed one).
 */
export const GET = withCron(async ({ actor }) => {
  const grants = await grantMonthlyCredits(db(), actor);
  const seats = await enqueueSeatMonth(db());
  return json({ ...grants, seats });
});
