import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { listPayments } from "@/lib/payments/list";

export const GET = withSession({ role: "admin" }, async ({ actor }) =>
  json({ items: await listPayments(db(), actor) }),
);
