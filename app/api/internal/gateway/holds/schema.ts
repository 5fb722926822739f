import { z } from "zod";

export const holdBody = z.strictObject({
  keyId: z.uuid(),
  callId: z.string().min(1).max(200),
  nonce: z.string().min(1).max(100),
  model: z.string().min(1).max(128),
  promptTokens: z.number().int().min(0).max(100_000_000),
  // Any positive int4: the hold caps it at the model's output limit.
  maxOutputTokens: z.number().int().min(1).max(2_147_483_647).nullable(),
  choices: z.number().int().min(1).max(128).default(1),
  fallbackModels: z.array(z.string().min(1).max(128)).max(16).default([]),
});
