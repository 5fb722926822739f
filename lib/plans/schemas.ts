import { z } from "zod";
import { micros } from "@/lib/billing/schemas";

const limit = z.number().int().min(1).max(1_000_000_000).nullable();

const fields = {
  name: z.string().trim().min(1).max(60),
  description: z.string().trim().max(300),
  requestsPerDay: limit,
  rpmLimit: limit,
  tpmLimit: limit,
  dailyBudgetMicros: micros().nullable(),
  monthlyBudgetMicros: micros().nullable(),
  allowedModels: z.array(z.string().min(1).max(128)).max(100),
  monthlyGrantMicros: micros().nullable(),
  /** A seat's price per UTC month for organizations on the plan (null: no seat fee). */
  seatPriceMicros: micros().nullable(),
  /** The BYOK platform fee (clause 62): basis points of the price book's price of a call served with the owner's own
   *  provider key, 0–10,000 (500 = 5 %), rounded up once per call. A JSON integer, never coerced. */
  byokFeeBps: z.int().min(0).max(10_000),
  /** The BYOK fee's per-request part in micro-USD (up to $1,000), added to the share above; the sum is capped at the
   *  call's full price (byok_charge). Money, so read as every money field is (clause 24: micros()). */
  byokFeeRequestMicros: micros({ max: 1_000_000_000n }),
};

export const createPlanBody = z.strictObject({
  ...fields,
  description: fields.description.default(""),
  requestsPerDay: fields.requestsPerDay.default(null),
  rpmLimit: fields.rpmLimit.default(null),
  tpmLimit: fields.tpmLimit.default(null),
  dailyBudgetMicros: fields.dailyBudgetMicros.default(null),
  monthlyBudgetMicros: fields.monthlyBudgetMicros.default(null),
  allowedModels: fields.allowedModels.default([]),
  monthlyGrantMicros: fields.monthlyGrantMicros.default(null),
  seatPriceMicros: fields.seatPriceMicros.default(null),
  byokFeeBps: fields.byokFeeBps.default(500),
  byokFeeRequestMicros: fields.byokFeeRequestMicros.default(0n),
});

export const updatePlanBody = z
  .strictObject(
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])) as {
      [K in keyof typeof fields]: z.ZodOptional<(typeof fields)[K]>;
    },
  )
  .refine((v) => Object.keys(v).length > 0, "send at least one field to change");

export type CreatePlanBody = z.input<typeof createPlanBody>;
export type UpdatePlanBody = z.input<typeof updatePlanBody>;
export type PlanInput = z.output<typeof createPlanBody>;
