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
  system: z.string().max(20_000).optional(),
  maxOutputTokens: z.number().int().min(1).max(32_768).optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
});

// Saved conversations: the chat UI's messages (checked for shape, bounded in count and size by the body limit).
const savedMessages = z
  .array(
    z.looseObject({
      id: z.string().max(200),
      role: z.enum(["user", "assistant", "system"]),
      parts: z.array(z.unknown()),
    }),
  )
  .max(500);
const savedSettings = z.strictObject({
  model: z.string().max(128),
  system: z.string().max(20_000),
  temperature: z.string().max(16),
  topP: z.string().max(16),
  maxTokens: z.string().max(16),
});
const title = z.string().trim().min(1).max(200);

export const conversationBody = z.strictObject({
  title: title.default("New chat"),
  settings: savedSettings,
  messages: savedMessages.default([]),
});
export const conversationPatch = z
  .strictObject({
    title: title.optional(),
    settings: savedSettings.optional(),
    messages: savedMessages.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send title, settings and/or messages");
export const conversationQuery = z.strictObject({ q: z.string().trim().max(200).optional() });
