import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { queueOverview } from "@/lib/settlement/views";

export const GET = withSession({ role: "admin" }, async ({ actor }) =>
  json(await queueOverview(db(), actor)),
);
