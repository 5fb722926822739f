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

/**
 * A new model. The gateway routes a call by the model name it is sent (no aliases), and settlement finds the model
 * by the group LiteLLM reports, so a model is sold under its LiteLLM group's name: publicName is the group.
 * maxOutputTokens may be left out for models without output tokens (embeddings, images, speech, transcription):
 * the window is then their only bound. skipGatewayCheck saves a group the gateway could not be asked about
 * (it was unreachable); a group the gateway answers it does not serve is refused either way.
 */
export const createModelBody = z
  .strictObject({
    publicName: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, "letters, digits and . _ : / - only"),
    ...fields,
    maxOutputTokens: fields.maxOutputTokens.optional(),
    description: fields.description.default(""),
    enabled: fields.enabled.default(true),
    free: fields.free.default(false),
    skipGatewayCheck: z.boolean().default(false),
  })
  .refine((m) => m.publicName === m.litellmModelGroup, {
    path: ["litellmModelGroup"],
    message: "must be the model's name: the gateway serves a model under its LiteLLM group's name",
  })
  .refine((m) => m.maxOutputTokens === undefined || m.maxOutputTokens <= m.contextWindow, {
    path: ["maxOutputTokens"],
    message: "must not exceed contextWindow",
  });
export type CreateModelBody = z.output<typeof createModelBody>;

/** An edit. The name and its group are fixed once the model exists (keys, plans and past calls name it). */
export const updateModelBody = z
  .strictObject({
    provider: fields.provider.optional(),
    description: fields.description.optional(),
    contextWindow: fields.contextWindow.optional(),
    maxOutputTokens: fields.maxOutputTokens.optional(),
    enabled: fields.enabled.optional(),
    free: fields.free.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one field to change");
export type UpdateModelBody = z.output<typeof updateModelBody>;
