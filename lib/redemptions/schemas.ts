import { z } from "zod";
import { micros } from "@/lib/billing/schemas";
import { isoDateTime } from "@/lib/http/schemas";

export const createBatchBody = z.strictObject({
  /** What each code credits, in micro-USD. */
  amountMicros: micros({ min: 1n }),
  count: z.number().int().min(1).max(1000),
  expiresAt: isoDateTime().nullable().default(null),
  note: z.string().trim().max(200).default(""),
});

export const redeemBody = z.strictObject({
  code: z.string().trim().min(1).max(64),
});

export type CreateBatchBody = z.input<typeof createBatchBody>;
