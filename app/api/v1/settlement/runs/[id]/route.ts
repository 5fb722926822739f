import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { getRun } from "@/lib/settlement/views";

export const GET = withSession({ role: "admin" }, async ({ params, actor }) =>
  json(await getRun(db(), actor, parseId(params.id, "Settlement run"))),
);
