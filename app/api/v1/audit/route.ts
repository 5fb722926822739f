import { z } from "zod";
import { listAudit } from "@/lib/audit/list";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

const auditQuery = z.strictObject({
  action: z.string().max(100).optional(),
  targetType: z.string().max(100).optional(),
  targetId: z.string().max(200).optional(),
  actorId: z.uuid().optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});

export const GET = withSession({ role: "admin" }, async ({ req, actor }) =>
  json(await listAudit(db(), actor, parseQuery(req, auditQuery))),
);
