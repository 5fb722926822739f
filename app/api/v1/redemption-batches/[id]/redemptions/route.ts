import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { listRedemptions } from "@/lib/redemptions/codes";

export const GET = withSession({ role: "admin" }, async ({ params, actor }) =>
  json({ items: await listRedemptions(db(), actor, parseId(params.id, "Batch")) }),
);
