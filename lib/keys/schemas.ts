import { z } from "zod";
import { micros } from "@/lib/billing/schemas";
import { isoDateTime } from "@/lib/http/schemas";

const modelName = z.string().min(1).max(128);

/** An organization as URLs name it: its slug (?org=<slug>, case does not matter) or its id. */
export const organizationRef = z.union([
  z.uuid(),
  z
    .string()
    .max(40)
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?$/, "an organization's slug or id"),
]);
const limit = z.number().int().min(1).max(1_000_000_000).nullable();

export const listKeysQuery = z.strictObject({
  userId: z.uuid().optional(),
  /** One key (a link from a call to its key). */
  keyId: z.uuid().optional(),
  status: z.enum(["active", "revoked"]).optional(),
  q: z.string().trim().max(200).optional(),
  /** The keys of this organization the caller may see (its owners and admins: every member's). */
  org: organizationRef.optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});

export const createKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  /**
   * Platform admins may issue keys for another user (in an organization: any member who uses keys); everyone else
   * only for themselves.
   */
  userId: z.uuid().optional(),
  allowedModels: z.array(modelName).max(100).default([]),
  rpmLimit: limit.default(null),
  tpmLimit: limit.default(null),
  expiresAt: isoDateTime().nullable().default(null),
});

export const updateKeyBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    allowedModels: z.array(modelName).max(100).optional(),
    rpmLimit: limit.optional(),
    tpmLimit: limit.optional(),
    expiresAt: isoDateTime().nullable().optional(),
    /** Hard spend limits per UTC day / month in micro-USD, charges plus reservations (null removes). */
    dailyBudgetMicros: micros().nullable().optional(),
    monthlyBudgetMicros: micros().nullable().optional(),
    /** false: the key stays out of its account's response cache (its answers neither kept nor served from it). */
    responseCache: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one field to change");

export type CreateKeyBody = z.input<typeof createKeyBody>;
export type UpdateKeyBody = z.input<typeof updateKeyBody>;
export const gatewayAuthBody = z.strictObject({ key: z.string().min(1).max(512) });
