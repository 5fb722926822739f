import { z } from "zod";

const micros = z.coerce.bigint().min(-1_000_000_000_000_000n).max(1_000_000_000_000_000n);
const budget = z.coerce.bigint().min(0n).max(1_000_000_000_000_000n).nullable();

export const pageQuery = z.strictObject({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(25),
});

export const listAccountsQuery = pageQuery.extend({ q: z.string().trim().max(200).optional() });

export const creditBody = z.strictObject({
  /** Integer micro-USD (a string or a number): 1 USD = 1,000,000. */
  amountMicros: micros,
  kind: z.enum(["topup", "grant", "adjustment"]),
  reason: z.string().trim().min(3, "say why (it goes to the audit log)").max(500),
  idempotencyKey: z.string().min(8).max(200),
});

export const budgetsBody = z
  .strictObject({ dailyBudgetMicros: budget.optional(), monthlyBudgetMicros: budget.optional() })
  .refine((v) => Object.keys(v).length > 0, "send dailyBudgetMicros and/or monthlyBudgetMicros");
