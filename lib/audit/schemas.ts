import { z } from "zod";
import { utcDay } from "@/lib/http/schemas";

/** The audit log's filters (all optional, combined): they live in the page's URL too. */
export const auditQuery = z.strictObject({
  /** An action or its prefix: "key." matches every key action. */
  action: z.string().trim().max(100).optional(),
  /** Part of the actor's email. */
  actor: z.string().trim().max(200).optional(),
  actorId: z.uuid().optional(),
  targetType: z.string().trim().max(100).optional(),
  targetId: z.string().trim().max(200).optional(),
  /** UTC days, inclusive. */
  from: utcDay().optional(),
  to: utcDay().optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});

export type AuditQuery = z.output<typeof auditQuery>;
