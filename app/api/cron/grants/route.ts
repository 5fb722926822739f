import { db } from "@/lib/db";
import { withCron } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { enqueueDueSeatRetries, enqueueSeatMonth } from "@/lib/orgs/seats";
import { grantMonthlyCredits } from "@/lib/plans/manage";
import { enqueueStatementClosings } from "@/lib/statements/close";

/**
 * Daily (vercel.json): plans' monthly credits, once per account and UTC month; and the UTC month's seat fees of
 * organizations, enqueued once per month (the first tick of a month, or the next after a missed one), a retry of
 * the fees due of every organization whose balance now covers them, and the closing of each ended month whose last
 * day's settlement has completed (lib/statements/close.ts).
 */
export const GET = withCron(async ({ actor }) => {
  const grants = await grantMonthlyCredits(db(), actor);
  const seats = await enqueueSeatMonth(db());
  const seatRetries = await enqueueDueSeatRetries(db());
  const statements = await enqueueStatementClosings(db());
  return json({ ...grants, seats: { ...seats, retries: seatRetries }, statements });
});
