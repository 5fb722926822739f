import { z } from "zod";
import { organizationRef } from "@/lib/keys/schemas";

/**
 * The UI message parts the playground writes and sends back (the ai SDK's text, reasoning and step boundaries);
 * any other part type is refused here, with its field, rather than failing in the model-message conversion.
 * Fields of a part beyond these are dropped (a part carries no provider options of the caller's choosing).
 */
const textState = z.enum(["streaming", "done"]).optional();
export const uiMessagePart = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string(), state: textState }),
  z.object({ type: z.literal("reasoning"), text: z.string(), state: textState }),
  z.object({ type: z.literal("step-start") }),
]);
const parts = z.array(uiMessagePart).max(1000);

export const playgroundChatBody = z.strictObject({
  id: z.string().max(200).optional(),
  trigger: z.string().max(50).optional(),
  messageId: z.string().max(200).optional(),
  // UI messages as the ai SDK sends them, their parts checked above; converted by convertToModelMessages.
  messages: z
    .array(z.looseObject({ role: z.enum(["user", "assistant", "system"]), parts }))
    .min(1)
    .max(200),
  model: z.string().min(1).max(128),
  system: z.string().max(20_000).optional(),
  maxOutputTokens: z.number().int().min(1).max(32_768).optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
  /** The organization (slug or id) whose account pays for the turn (a role that spends); none: one's own. */
  org: organizationRef.optional(),
});

// Saved conversations: the chat UI's messages (checked for shape, bounded in count and size by the body limit).
const savedMessages = z
  .array(
    z.looseObject({
      id: z.string().max(200),
      role: z.enum(["user", "assistant", "system"]),
      parts,
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
/** The playground whose conversations a request reads or writes: an organization's (slug or id), or one's own. */
export const conversationScopeQuery = z.strictObject({ org: organizationRef.optional() });
export const conversationQuery = z.strictObject({
  q: z.string().trim().max(200).optional(),
  org: organizationRef.optional(),
});
/** The models of the playground: an organization's (what its playground key may call), or one's own plan's. */
export const playgroundModelsQuery = conversationScopeQuery;

/**
 * Why a chat turn failed, as the playground shows it: a code the UI branches on (from the gateway's HTTP status)
 * and the gateway's own words. The chat stream carries it as JSON in its error text (lib/playground/chat.ts).
 */
export const CHAT_FAILURES = [
  "insufficient_balance",
  "rate_limited",
  "model_unavailable",
  "provider_failed",
  "failed",
] as const;
export const chatFailure = z.strictObject({ code: z.enum(CHAT_FAILURES), message: z.string() });
export type ChatFailure = z.output<typeof chatFailure>;

/** The failure a chat error carries; any other text (a refused request, a dropped connection) is a plain failure. */
export function readChatFailure(text: string): ChatFailure {
  try {
    const parsed = chatFailure.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {}
  return { code: "failed", message: text };
}
