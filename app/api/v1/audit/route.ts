import { listAudit } from "@/lib/audit/list";
import { auditQuery } from "@/lib/audit/schemas";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

export const GET = withSession({ role: "admin" }, async ({ req, actor }) =>
  json(await listAudit(db(), actor, parseQuery(req, auditQuery))),
);
