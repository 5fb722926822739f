import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { listMyPayments } from "@/lib/payments/list";

export const GET = withSession({}, async ({ actor, principal }) =>
  json({ items: await listMyPayments(db(), { ...actor, userId: principal.userId }) }),
);
