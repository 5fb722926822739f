import { CONTRACT } from "@/lib/billing/contract";

// What a model's kinds say about its limits, from the billing contract (lib/billing/contract.json): which call kinds
// produce output tokens (those the output-token unit bills), and the endpoint of each kind. No server-only: the
// admin's dialog and the developer's model page read the same rules.

const OUTPUT_UNIT = CONTRACT.priceUnits.find((u) => u.key === "output");

/** Call kinds whose answers are counted in output tokens (chat, legacy completions, Responses, Messages). */
export const OUTPUT_KINDS: ReadonlySet<string> = new Set(OUTPUT_UNIT?.bills ?? []);

/** The endpoint an app calls for each kind ("POST /v1/chat/completions"). */
export const KIND_ROUTES: ReadonlyMap<string, string> = new Map(
  CONTRACT.callKinds.map((k) => [k.kind, k.route]),
);

/**
 * The call kinds a LiteLLM deployment's mode (model_info.mode) serves. No mode is LiteLLM's default, chat. Modes
 * Tollgate does not sell (rerank, moderation, …) serve none.
 */
export function kindsOfMode(mode: string | null | undefined): string[] {
  switch (mode ?? "chat") {
    case "chat":
    case "responses":
      return ["chat", "completion", "responses", "messages"];
    case "completion":
      return ["completion", "chat"];
    case "embedding":
      return ["embedding"];
    case "image_generation":
      return ["image"];
    case "audio_speech":
      return ["speech"];
    case "audio_transcription":
      return ["transcription"];
    default:
      return [];
  }
}

/**
 * Whether a maximum output means something for a model serving these kinds: some kind answers in output tokens.
 * With no kinds known (a model not priced yet, a mode not sold), it may.
 */
export const hasOutputTokens = (kinds: readonly string[]) =>
  kinds.length === 0 || kinds.some((k) => OUTPUT_KINDS.has(k));

/** A kind as people read it. */
export const KIND_LABELS: Record<string, string> = {
  chat: "Chat",
  completion: "Completions (legacy)",
  responses: "Responses",
  messages: "Messages",
  embedding: "Embeddings",
  image: "Images",
  speech: "Speech",
  transcription: "Transcription",
};
