import { z } from "zod";
import { micros } from "@/lib/billing/schemas";

/** A whole number of cents, as Stripe charges (1 cent = 10,000 micro-USD). */
const cents = micros({ min: 10_000n }).refine((v) => v % 10_000n === 0n, "must be a whole number of cents");

export const checkoutBody = z.strictObject({ amountMicros: cents });

export const billingSettingsBody = z
  .strictObject({
    topupMinMicros: cents.optional(),
    topupMaxMicros: cents.optional(),
    topupPresetsMicros: z.array(cents).max(6).optional(),
    lowBalanceMicros: micros().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one setting to change");

export type BillingSettingsBody = z.input<typeof billingSettingsBody>;
