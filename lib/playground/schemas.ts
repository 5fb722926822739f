import { z } from "zod";

export const playgroundChatBody = z.strictObject({
  id: z.string().max(200).optional(),
  trigger: z.string().max(50).optional(),
  messageId: z.string().max(200).optional(),
  // UI messages as the ai SDK sends them; converted and checked by convertToModelMessages.
  messages: z
    .array(z.looseObject({ role: z.enum(["user", "assistant", "system"]), parts: z.array(z.unknown()) }))
    .min(1)
    .max(200),
  model: z.string().min(1).max(128),
  apiKey: z.string().min(1).max(512),
  maxOutputTokens: z.number().int().min(1).max(32_768).optional(),
  temperature: z.number().min(0).max(2).optional(),
});
