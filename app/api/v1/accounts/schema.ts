import { z } from "zod";
import { micros } from "@/lib/billing/schemas";

const budget = micros().nullable();

export const pageQuery = z.strictObject({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(25),
});

export const listAccountsQuery = pageQuery.extend({ q: z.string().trim().max(200).optional() });

export const creditBody = z.strictObject({
  /** Integer micro-USD (a JSON integer or a string of digits): 1 USD = 1,000,000; negative for adjustments. */
  amountMicros: micros({ negative: true }),
  kind: z.enum(["topup", "grant", "adjustment"]),
  reason: z.string().trim().min(3, "say why (it goes to the audit log)").max(500),
  idempotencyKey: z.string().min(8).max(200),
});

export const budgetsBody = z
  .strictObject({ dailyBudgetMicros: budget.optional(), monthlyBudgetMicros: budget.optional() })
  .refine((v) => Object.keys(v).length > 0, "send dailyBudgetMicros and/or monthlyBudgetMicros");
