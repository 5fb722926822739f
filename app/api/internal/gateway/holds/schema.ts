import { z } from "zod";

export const holdBody = z.strictObject({
  keyId: z.uuid(),
  callId: z.string().min(1).max(200),
  nonce: z.string().min(1).max(100),
  model: z.string().min(1).max(128),
  promptTokens: z.number().int().min(0).max(100_000_000),
  maxOutputTokens: z.number().int().min(1).max(100_000_000).nullable(),
});
