import { z } from "zod";

export const modelsQuery = z.strictObject({ live: z.enum(["0", "1", "fresh"]).optional() });

const fields = {
  litellmModelGroup: z.string().trim().min(1).max(128),
  provider: z.string().trim().min(1).max(64),
  description: z.string().trim().max(500),
  contextWindow: z.number().int().min(1).max(100_000_000),
  maxOutputTokens: z.number().int().min(1).max(100_000_000),
  enabled: z.boolean(),
  /** Served even on routes whose unit its price charges nothing for (clause 44): free on purpose. */
  free: z.boolean(),
};

export const createModelBody = z
  .strictObject({
    publicName: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, "letters, digits and . _ : / - only"),
    ...fields,
    description: fields.description.default(""),
    enabled: fields.enabled.default(true),
    free: fields.free.default(false),
  })
  .refine((m) => m.maxOutputTokens <= m.contextWindow, {
    path: ["maxOutputTokens"],
    message: "must not exceed contextWindow",
  });

export const updateModelBody = z
  .strictObject({
    litellmModelGroup: fields.litellmModelGroup.optional(),
    provider: fields.provider.optional(),
    description: fields.description.optional(),
    contextWindow: fields.contextWindow.optional(),
    maxOutputTokens: fields.maxOutputTokens.optional(),
    enabled: fields.enabled.optional(),
    free: fields.free.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one field to change");
