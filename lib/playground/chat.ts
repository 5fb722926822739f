import "server-only";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { APICallError, convertToModelMessages, streamText, type UIMessage } from "ai";
import type { Actor } from "@/lib/auth/types";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { playgroundKeyFor } from "./key";
import type { ChatFailure } from "./schemas";

export interface PlaygroundRequest {
  messages: UIMessage[];
  model: string;
  system?: string;
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  /** An organization (slug or id) whose account pays, within the developer's member caps; none: their own. */
  org?: string;
}

/** What the playground shows under an answer; callId finds its charge in the ledger once the gateway reports it. */
export interface TurnMetadata {
  model: string;
  callId: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  firstTokenMs: number | null;
  totalMs: number;
  /** Set by the playground when the developer pressed Stop: the answer is cut short, its charge estimated. */
  stopped?: boolean;
}

/** The failure code of a gateway HTTP status: what the playground tells a developer to do about it. */
function failureCode(status: number | undefined): ChatFailure["code"] {
  if (status === 402) return "insufficient_balance";
  if (status === 429) return "rate_limited";
  if (status === 403 || status === 404) return "model_unavailable";
  if (status !== undefined && status >= 500) return "provider_failed";
  return "failed";
}

/** What the gateway said, with its code, for the playground to show (the error body carries the reason). */
export function chatFailureOf(error: unknown): ChatFailure {
  if (APICallError.isInstance(error)) {
    let message = error.message;
    try {
      const body = JSON.parse(error.responseBody ?? "{}");
      if (body?.error?.message) message = body.error.message;
    } catch {}
    return { code: failureCode(error.statusCode), message };
  }
  return { code: "failed", message: error instanceof Error ? error.message : "The gateway call failed." };
}

/**
 * The playground's chat turn: sent through the real gateway with the developer's playground key (made on first
 * use, never shown), so playground calls are authorized, limited and metered exactly like an app's. Streams the
 * answer as UI message parts; the gateway's call id goes to the client with the first token, so even a stopped
 * answer can be matched to its (estimated) charge. Stopping aborts the gateway call (the request's signal).
 */
export async function playgroundChat(
  db: Db,
  actor: Actor & { userId: string },
  input: PlaygroundRequest,
  signal?: AbortSignal,
): Promise<Response> {
  const cfg = config();
  const key = await playgroundKeyFor(db, actor, input.org, { pepper: cfg.KEY_PEPPER });
  let callId: string | null = null;
  const gateway = createOpenAICompatible({
    name: "tollgate",
    baseURL: `${cfg.LITELLM_URL.replace(/\/$/, "")}/v1`,
    apiKey: key.secret,
    includeUsage: true,
    // The gateway names the call in a response header: read as soon as the answer starts.
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      callId = response.headers.get("x-litellm-call-id");
      return response;
    },
  });
  const startedAt = Date.now();
  let firstTokenMs: number | null = null;
  let announced = false;
  const result = streamText({
    model: gateway.chatModel(input.model),
    system: input.system || undefined,
    messages: await convertToModelMessages(input.messages),
    maxOutputTokens: input.maxOutputTokens,
    temperature: input.temperature,
    topP: input.topP,
    maxRetries: 0,
    abortSignal: signal,
    onChunk: ({ chunk }) => {
      if (firstTokenMs === null && chunk.type === "text-delta") firstTokenMs = Date.now() - startedAt;
    },
  });
  return result.toUIMessageStreamResponse<UIMessage<TurnMetadata>>({
    messageMetadata: ({ part }) => {
      if (part.type === "finish")
        return {
          model: input.model,
          callId,
          inputTokens: part.totalUsage.inputTokens ?? null,
          outputTokens: part.totalUsage.outputTokens ?? null,
          firstTokenMs,
          totalMs: Date.now() - startedAt,
        };
      if (!announced && callId && part.type === "text-delta") {
        announced = true;
        return {
          model: input.model,
          callId,
          inputTokens: null,
          outputTokens: null,
          firstTokenMs,
          totalMs: 0,
        };
      }
      return undefined;
    },
    onError: (error) => JSON.stringify(chatFailureOf(error)),
  });
}
