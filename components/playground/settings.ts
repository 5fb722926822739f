import type { UIMessage } from "ai";
import type { TurnMetadata } from "@/lib/playground/chat";

// The playground's chat settings and messages, shared by the chat, the saved conversations and the code dialog.

export type PlaygroundMessage = UIMessage<TurnMetadata>;

export interface ChatSettings {
  model: string;
  system: string;
  temperature: string;
  topP: string;
  maxTokens: string;
}

export const DEFAULT_SETTINGS: ChatSettings = {
  model: "",
  system: "",
  temperature: "0.7",
  topP: "1",
  maxTokens: "512",
};

/** The request body the chat route takes beside the messages. */
export function requestBody(s: ChatSettings, model = s.model) {
  return {
    model,
    system: s.system.trim() || undefined,
    maxOutputTokens: Number(s.maxTokens) || undefined,
    temperature: s.temperature === "" ? undefined : Number(s.temperature),
    topP: s.topP === "" ? undefined : Number(s.topP),
  };
}

/** An answer the developer stopped, marked so (before its first token it has no metadata yet: made here). */
export function markStopped(message: PlaygroundMessage, model: string): PlaygroundMessage {
  const metadata = message.metadata ?? {
    model,
    callId: null,
    inputTokens: null,
    outputTokens: null,
    firstTokenMs: null,
    totalMs: 0,
  };
  return { ...message, metadata: { ...metadata, stopped: true } };
}
