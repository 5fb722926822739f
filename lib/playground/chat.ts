import "server-only";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { APICallError, convertToModelMessages, streamText, type UIMessage } from "ai";
import type { Principal } from "@/lib/auth/types";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { verifyKey } from "@/lib/keys/verify";

export interface PlaygroundRequest {
  messages: UIMessage[];
  model: string;
  apiKey: string;
  maxOutputTokens?: number;
  temperature?: number;
}

/** What the gateway said, in a sentence the playground can show (its error body carries the reason). */
export function gatewayErrorMessage(error: unknown): string {
  if (APICallError.isInstance(error)) {
    try {
      const body = JSON.parse(error.responseBody ?? "{}");
      if (body?.error?.message) return `Gateway ${error.statusCode}: ${body.error.message}`;
    } catch {}
    return `Gateway ${error.statusCode ?? ""}: ${error.message}`.trim();
  }
  return error instanceof Error ? error.message : "The gateway call failed.";
}

/**
 * The playground's chat turn: the signed-in user's own key is sent through the real gateway, so playground
 * calls are authorized, limited and metered exactly like an app's. Streams the answer as UI message parts.
 */
export async function playgroundChat(
  db: Db,
  principal: Principal,
  input: PlaygroundRequest,
): Promise<Response> {
  const cfg = config();
  const verdict = await verifyKey(db, input.apiKey, cfg.KEY_PEPPER);
  if (!verdict.valid) throw new AppError("unauthorized", verdict.message);
  if (verdict.key.userId !== principal.userId)
    throw new AppError("forbidden", "Use one of your own API keys.");
  const gateway = createOpenAICompatible({
    name: "tollgate",
    baseURL: `${cfg.LITELLM_URL.replace(/\/$/, "")}/v1`,
    apiKey: input.apiKey,
    includeUsage: true,
  });
  const startedAt = Date.now();
  let firstTokenMs: number | null = null;
  const result = streamText({
    model: gateway.chatModel(input.model),
    messages: await convertToModelMessages(input.messages),
    maxOutputTokens: input.maxOutputTokens,
    temperature: input.temperature,
    maxRetries: 0,
    onChunk: ({ chunk }) => {
      if (firstTokenMs === null && chunk.type === "text-delta") firstTokenMs = Date.now() - startedAt;
    },
  });
  return result.toUIMessageStreamResponse({
    messageMetadata: ({ part }) =>
      part.type === "finish"
        ? {
            model: input.model,
            inputTokens: part.totalUsage.inputTokens ?? null,
            outputTokens: part.totalUsage.outputTokens ?? null,
            firstTokenMs,
            totalMs: Date.now() - startedAt,
          }
        : undefined,
    onError: gatewayErrorMessage,
  });
}
