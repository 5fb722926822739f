// An OpenAI-compatible upstream for dev, demo, tests and benchmarks: deterministic text and token counts,
// `usage` in responses and in the last stream chunk, adjustable latency, and failures on demand.
//
//   node --import tsx scripts/fake-upstream.ts [--port 4010]
//
// Latency: FAKE_TTFT_MS / FAKE_TPS (defaults per model below), or headers x-fake-ttft-ms / x-fake-tps.
// Failures by model name (fake-error-500, fake-error-429, fake-timeout, fake-cut, fake-flaky) or header
// x-fake-fail (500 | 429 | timeout | cut | flaky). fake-flaky answers 503 to the first FAKE_FLAKY_FAILURES (2)
// attempts of each distinct prompt, then serves it: what a gateway's retries are for. Completion length: 16–47 tokens chosen by the prompt, capped by max_tokens.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

interface Profile {
  ttftMs: number;
  tokensPerSecond: number;
  fail?: "500" | "429" | "timeout" | "cut" | "flaky";
  /** Usage with token classes, as a prompt-caching reasoning model reports them (see usageOf). */
  classes?: boolean;
  /** Max input tokens (config.yaml's max_input_tokens): a longer prompt is refused with 400, as providers do. */
  contextWindow?: number;
  /** Reports this many times the prompt it counted: a provider billing past what a request can hold (an anomaly the
   *  gateway must catch: billing contract, clauses 45–46). */
  overbill?: number;
}

const envNumber = (name: string): number | undefined =>
  process.env[name] !== undefined && process.env[name] !== "" ? Number(process.env[name]) : undefined;

const PROFILES: Record<string, Profile> = {
  "fake-small": { ttftMs: 20, tokensPerSecond: 400, contextWindow: 16384 },
  "fake-large": { ttftMs: 60, tokensPerSecond: 150, contextWindow: 131072 },
  "fake-slow": { ttftMs: 800, tokensPerSecond: 20, contextWindow: 16384 },
  "fake-error-500": { ttftMs: 5, tokensPerSecond: 400, fail: "500" },
  "fake-error-429": { ttftMs: 5, tokensPerSecond: 400, fail: "429" },
  "fake-timeout": { ttftMs: 5, tokensPerSecond: 400, fail: "timeout" },
  "fake-cut": { ttftMs: 10, tokensPerSecond: 200, fail: "cut" },
  "fake-overbill": { ttftMs: 5, tokensPerSecond: 400, overbill: 1000 },
  "fake-flaky": { ttftMs: 5, tokensPerSecond: 400, fail: "flaky" },
  // A dead deployment: the gateway's config falls back from it to fake-large.
  "fake-dead": { ttftMs: 5, tokensPerSecond: 400, fail: "500" },
  // Embeddings (POST /v1/embeddings): 8-dimension vectors; fake-embed-error fails with 500.
  "fake-embed": { ttftMs: 5, tokensPerSecond: 0, contextWindow: 8192 },
  "fake-embed-error": { ttftMs: 5, tokensPerSecond: 0, fail: "500" },
  // Legacy completions (POST /v1/completions): fake-instruct-slow streams slowly enough for a client to cut it.
  "fake-instruct": { ttftMs: 20, tokensPerSecond: 400, contextWindow: 4096 },
  "fake-instruct-slow": { ttftMs: 200, tokensPerSecond: 20, contextWindow: 4096 },
  "fake-instruct-error": { ttftMs: 5, tokensPerSecond: 400, fail: "500" },
  // Chat whose usage splits the prompt into cached reads and cache writes and the completion into reasoning.
  "fake-cache": { ttftMs: 10, tokensPerSecond: 400, classes: true, contextWindow: 200000 },
  // Images (POST /v1/images/generations): n small PNGs; speech (POST /v1/audio/speech): bytes per character;
  // transcription (POST /v1/audio/transcriptions, multipart): the WAV's length as usage. *-error: 500.
  "fake-image": { ttftMs: 5, tokensPerSecond: 0 },
  "fake-image-error": { ttftMs: 5, tokensPerSecond: 0, fail: "500" },
  "fake-tts": { ttftMs: 5, tokensPerSecond: 0 },
  "fake-tts-error": { ttftMs: 5, tokensPerSecond: 0, fail: "500" },
  "fake-whisper": { ttftMs: 5, tokensPerSecond: 0 },
  "fake-whisper-error": { ttftMs: 5, tokensPerSecond: 0, fail: "500" },
};

export interface EmbeddingRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  dimensions?: number;
}

/** Deterministic input token count of an embeddings request: words of each text, or the length of token arrays. */
export function countEmbeddingTokens(input: EmbeddingRequest["input"]): number {
  const items = Array.isArray(input) && input.length && typeof input[0] !== "number" ? input : [input];
  return (items as (string | number[])[]).reduce(
    (n, item) => n + (Array.isArray(item) ? item.length : String(item).split(/\s+/).filter(Boolean).length),
    0,
  );
}

/** One vector per input, derived from its text: the same input always embeds the same. */
function embedding(item: string | number[], dimensions: number): number[] {
  const text = Array.isArray(item) ? item.join(",") : item;
  let seed = 0;
  for (const ch of text) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  return Array.from({ length: dimensions }, (_, i) => (((seed >>> (i % 24)) & 0xff) - 128) / 128);
}

export interface ResponsesItem {
  role?: string;
  type?: string;
  content?: unknown;
  output?: unknown;
  arguments?: unknown;
  name?: unknown;
}

export interface ResponsesRequest {
  model: string;
  input: string | ResponsesItem[];
  instructions?: string;
  max_output_tokens?: number;
  stream?: boolean;
  tools?: unknown[];
}

/**
 * The Responses API's input as chat messages (instructions first), for the shared token count and answer: every input
 * item is one message, as providers frame it — empty ones, function calls and their outputs (a tool result each)
 * included, with their text (content, output, name and arguments) and images.
 */
export function responsesMessages(body: ResponsesRequest): ChatRequest["messages"] {
  const items = typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input;
  return [
    ...(body.instructions ? [{ role: "system", content: body.instructions }] : []),
    ...items.map((m) => {
      const item = (m && typeof m === "object" ? m : {}) as ResponsesItem;
      if (item.content !== undefined) return { role: item.role ?? "user", content: item.content };
      const parts = [item.name, item.arguments, item.output].flatMap((v) =>
        typeof v === "string" ? [{ type: "text", text: v }] : Array.isArray(v) ? v : [],
      );
      return { role: item.type ?? "user", content: parts };
    }),
  ];
}

/**
 * POST /v1/responses, as OpenAI answers it: a response with one output message and usage (input_tokens,
 * output_tokens), or with stream: true the semantic SSE events ending in response.completed (which carries usage).
 */
async function responses(res: ServerResponse, body: ResponsesRequest) {
  const profile = PROFILES[body.model] ?? PROFILES["fake-small"]!;
  if (profile.fail === "500") {
    return sendJson(res, 500, {
      error: { message: "fake upstream: internal error", type: "server_error", code: null },
    });
  }
  const chat: ChatRequest = {
    model: body.model,
    messages: responsesMessages(body),
    max_tokens: body.max_output_tokens,
  };
  const words = completionTokens(chat);
  const input = countPromptTokens(chat.messages, body.tools);
  if (tooLong(res, body.model, input)) return;
  const usage = {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: words.length,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + words.length,
  };
  const id = `resp_${newId()}`;
  const messageId = `msg_${newId()}`;
  const created = Math.floor(Date.now() / 1000);
  const text = words.join(" ");
  const message = (status: string, content: string) => ({
    type: "message",
    id: messageId,
    status,
    role: "assistant",
    content:
      content === "" && status === "in_progress"
        ? []
        : [{ type: "output_text", text: content, annotations: [] }],
  });
  const response = (status: string, output: unknown[], withUsage: boolean) => ({
    id,
    object: "response",
    created_at: created,
    status,
    model: body.model,
    output,
    usage: withUsage ? usage : null,
  });
  const perTokenMs = profile.tokensPerSecond > 0 ? 1000 / profile.tokensPerSecond : 0;
  if (!body.stream) {
    await sleep(perTokenMs * words.length);
    return sendJson(res, 200, response("completed", [message("completed", text)], true));
  }
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  let sequence = 0;
  const event = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`);
  event("response.created", { response: response("in_progress", [], false) });
  event("response.output_item.added", { output_index: 0, item: message("in_progress", "") });
  event("response.content_part.added", {
    item_id: messageId,
    output_index: 0,
    content_index: 0,
    part: { type: "output_text", text: "", annotations: [] },
  });
  for (const [i, word] of words.entries()) {
    if (res.destroyed) return;
    event("response.output_text.delta", {
      item_id: messageId,
      output_index: 0,
      content_index: 0,
      delta: i === 0 ? word : ` ${word}`,
    });
    await sleep(perTokenMs);
  }
  event("response.output_text.done", { item_id: messageId, output_index: 0, content_index: 0, text });
  event("response.content_part.done", {
    item_id: messageId,
    output_index: 0,
    content_index: 0,
    part: { type: "output_text", text, annotations: [] },
  });
  event("response.output_item.done", { output_index: 0, item: message("completed", text) });
  event("response.completed", { response: response("completed", [message("completed", text)], true) });
  res.end();
}

function embeddings(res: ServerResponse, body: EmbeddingRequest) {
  const profile = PROFILES[body.model] ?? PROFILES["fake-embed"]!;
  if (profile.fail === "500") {
    return sendJson(res, 500, {
      error: { message: "fake upstream: internal error", type: "server_error", code: null },
    });
  }
  const items =
    Array.isArray(body.input) && body.input.length && typeof body.input[0] !== "number"
      ? body.input
      : [body.input];
  // Each input is its own pass of the model: one longer than the window is refused, as providers do.
  if (tooLong(res, body.model, Math.max(...(items as (string | number[])[]).map(countEmbeddingTokens))))
    return;
  const tokens = countEmbeddingTokens(body.input);
  return sendJson(res, 200, {
    object: "list",
    data: (items as (string | number[])[]).map((item, index) => ({
      object: "embedding",
      index,
      embedding: embedding(item, Math.max(1, Math.min(64, body.dimensions ?? 8))),
    })),
    model: body.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

const WORDS =
  "the gateway meters every call and charges the prepaid balance exactly once while the platform keeps a ledger whose sums equal balances so nothing is lost or counted twice".split(
    " ",
  );

export interface ChatRequest {
  model: string;
  messages: { role: string; content: unknown }[];
  tools?: unknown[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  n?: number;
}

/** Input tokens a provider bills per image part (gpt-4o's high detail 512×512: 85 + 4 × 170), a fixed count. */
export const IMAGE_TOKENS = 765;
const IMAGE_PARTS = new Set(["image_url", "input_image", "image"]);
const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

/** Words of a message's content (a string or parts; a part's text, a tool result's output), and 765 per image. */
function contentTokens(content: unknown): number {
  if (typeof content === "string") return words(content);
  if (!Array.isArray(content)) return 0;
  let tokens = 0;
  for (const part of content) {
    if (!part || typeof part !== "object") continue;
    const p = part as { type?: unknown; text?: unknown; output?: unknown; content?: unknown };
    if (typeof p.type === "string" && IMAGE_PARTS.has(p.type)) tokens += IMAGE_TOKENS;
    if (typeof p.text === "string") tokens += words(p.text);
    if (p.output !== undefined) tokens += contentTokens(p.output);
    if (p.content !== undefined) tokens += contentTokens(p.content);
  }
  return tokens;
}

/**
 * Deterministic prompt token count, as a provider bills input: 3 per request, then 4 per message (OpenAI-like
 * framing; empty messages included) plus the words of its text, 765 per image part, the words of an assistant's tool
 * calls, and the words of the tool definitions' JSON.
 */
export function countPromptTokens(messages: ChatRequest["messages"], tools?: unknown): number {
  let tokens = 3;
  for (const m of messages) {
    tokens += 4 + contentTokens(m.content);
    const calls = (m as { tool_calls?: unknown }).tool_calls;
    if (Array.isArray(calls)) tokens += words(JSON.stringify(calls));
  }
  if (Array.isArray(tools) && tools.length) tokens += words(JSON.stringify(tools));
  return tokens;
}

/** A prompt past the model's context window is refused with 400 (context_length_exceeded), as providers do. */
function tooLong(res: ServerResponse, model: string, promptTokens: number): boolean {
  const window = PROFILES[model]?.contextWindow;
  if (window === undefined || promptTokens <= window) return false;
  sendJson(res, 400, {
    error: {
      message: `This model's maximum context length is ${window} tokens; the prompt has ${promptTokens}.`,
      type: "invalid_request_error",
      code: "context_length_exceeded",
    },
  });
  return true;
}

/**
 * The completion: one word per token, chosen by a hash of the prompt so the same request gets the same answer.
 * With n > 1, choice i is hashed with its index, so each choice has its own text and length.
 */
export function completionTokens(req: ChatRequest, choice = 0): string[] {
  const digest = createHash("sha256")
    .update(JSON.stringify(req.messages) + (choice ? `#${choice}` : ""))
    .digest();
  const cap = req.max_completion_tokens ?? req.max_tokens;
  // Like a real model, the answer has its own length and max_tokens only caps it.
  const natural = 16 + (digest[0]! % 32);
  const length = cap !== undefined ? Math.max(1, Math.min(cap, natural)) : natural;
  return Array.from({ length }, (_, i) => WORDS[(digest[i % digest.length]! + i) % WORDS.length]!);
}

/** Failures switched on per model by POST /control {model, fail} (fail null: the model's own behaviour again). */
const failOverrides = new Map<string, Profile["fail"]>();

function profileFor(req: ChatRequest, headers: IncomingMessage["headers"]): Profile {
  const base = PROFILES[req.model] ?? PROFILES["fake-small"]!;
  const header = (name: string) => (typeof headers[name] === "string" ? Number(headers[name]) : undefined);
  const fail =
    typeof headers["x-fake-fail"] === "string"
      ? (headers["x-fake-fail"] as Profile["fail"])
      : failOverrides.has(req.model)
        ? failOverrides.get(req.model)
        : base.fail;
  return {
    ttftMs: header("x-fake-ttft-ms") ?? envNumber("FAKE_TTFT_MS") ?? base.ttftMs,
    tokensPerSecond: header("x-fake-tps") ?? envNumber("FAKE_TPS") ?? base.tokensPerSecond,
    fail,
  };
}

/**
 * A call's usage as OpenAI reports it. A model with token classes (fake-cache) reports half of the prompt as cached
 * reads (prompt_tokens_details.cached_tokens), a quarter as cache writes (cache_creation_input_tokens, as
 * Anthropic's usage reaches an OpenAI-style client) and a third of the completion as reasoning
 * (completion_tokens_details.reasoning_tokens): each inside the total it belongs to.
 */
export function usageOf(profile: Profile | undefined, prompt: number, completion: number) {
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (!profile?.classes) return usage;
  return {
    ...usage,
    prompt_tokens_details: { cached_tokens: Math.floor(prompt / 2) },
    cache_creation_input_tokens: Math.floor(prompt / 4),
    completion_tokens_details: { reasoning_tokens: Math.floor(completion / 3) },
  };
}

const FAILED = { error: { message: "fake upstream: internal error", type: "server_error", code: null } };

export interface CompletionRequest {
  model: string;
  prompt: string | string[] | number[] | number[][];
  max_tokens?: number;
  n?: number;
  best_of?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

/**
 * Legacy completions: each prompt gets best_of (≥ n) generations, all billed; n of them are returned. Streams send
 * the first choice's text and the usage last when asked.
 */
async function textCompletion(req: IncomingMessage, res: ServerResponse, body: CompletionRequest) {
  const prompts =
    Array.isArray(body.prompt) && body.prompt.length && typeof body.prompt[0] !== "number"
      ? (body.prompt as (string | number[])[])
      : [body.prompt as string | number[]];
  const profile = profileFor({ model: body.model, messages: [] }, req.headers);
  await sleep(profile.ttftMs);
  if (profile.fail === "500") return sendJson(res, 500, FAILED);
  // Each prompt is its own pass of the model: one longer than the window is refused, as providers do.
  if (tooLong(res, body.model, Math.max(...prompts.map(countEmbeddingTokens)))) return;
  const n = Math.max(1, body.n ?? 1);
  const generated = Math.max(n, body.best_of ?? 1);
  const texts: string[] = [];
  let completion = 0;
  for (const prompt of prompts) {
    const asChat: ChatRequest = {
      model: body.model,
      messages: [{ role: "user", content: Array.isArray(prompt) ? prompt.join(" ") : prompt }],
      max_tokens: body.max_tokens ?? 16, // OpenAI's default for this endpoint
    };
    for (let i = 0; i < generated; i++) {
      const words = completionTokens(asChat, i);
      completion += words.length;
      if (i < n) texts.push(words.join(" "));
    }
  }
  const usage = usageOf(undefined, countEmbeddingTokens(body.prompt), completion);
  const id = newId();
  const created = Math.floor(Date.now() / 1000);
  const choice = (text: string, index: number, finish: string | null) => ({
    text,
    index,
    logprobs: null,
    finish_reason: finish,
  });
  if (!body.stream) {
    return sendJson(res, 200, {
      id,
      object: "text_completion",
      created,
      model: body.model,
      choices: texts.map((t, i) => choice(t, i, "length")),
      usage,
    });
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
  for (const [index, text] of texts.entries()) {
    for (const [i, word] of text.split(" ").entries()) {
      if (res.destroyed) return;
      send({
        id,
        object: "text_completion",
        created,
        model: body.model,
        choices: [choice(i ? ` ${word}` : word, index, null)],
      });
      await sleep(profile.tokensPerSecond > 0 ? 1000 / profile.tokensPerSecond : 2);
    }
  }
  send({ id, object: "text_completion", created, model: body.model, choices: [choice("", 0, "length")] });
  if (body.stream_options?.include_usage)
    send({ id, object: "text_completion", created, model: body.model, choices: [], usage });
  res.end("data: [DONE]\n\n");
}

// A 1×1 transparent PNG: every generated image.
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

function images(res: ServerResponse, body: { model: string; n?: number; response_format?: string }) {
  if (PROFILES[body.model]?.fail === "500") return sendJson(res, 500, FAILED);
  const n = Math.max(1, Math.min(10, body.n ?? 1));
  return sendJson(res, 200, {
    created: Math.floor(Date.now() / 1000),
    data: Array.from({ length: n }, () =>
      body.response_format === "url" ? { url: `data:image/png;base64,${PNG}` } : { b64_json: PNG },
    ),
  });
}

function speech(res: ServerResponse, body: { model: string; input: string }) {
  if (PROFILES[body.model]?.fail === "500") return sendJson(res, 500, FAILED);
  // Deterministic "audio": 16 bytes per character of the input.
  const audio = Buffer.alloc(body.input.length * 16, body.input);
  res.writeHead(200, { "content-type": "audio/mpeg", "content-length": audio.length });
  res.end(audio);
}

/**
 * The length of a PCM WAV file as a decoder measures it: the data bytes actually present ÷ (sample rate × block
 * align), in seconds — never the header's data size or byte rate alone. null for anything else, and for a header
 * that is not consistent PCM (byte rate ≠ rate × block align, block align ≠ channels × bytes per sample, an odd
 * rate): a provider cannot decode those either.
 */
export function wavSeconds(file: Buffer): number | null {
  if (file.length < 12 || file.toString("ascii", 0, 4) !== "RIFF" || file.toString("ascii", 8, 12) !== "WAVE")
    return null;
  let fmt: {
    encoding: number;
    channels: number;
    rate: number;
    byteRate: number;
    align: number;
    bits: number;
  } | null = null;
  for (let at = 12; at + 8 <= file.length; ) {
    const id = file.toString("ascii", at, at + 4);
    const size = file.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > file.length) return null;
      fmt = {
        encoding: file.readUInt16LE(body),
        channels: file.readUInt16LE(body + 2),
        rate: file.readUInt32LE(body + 4),
        byteRate: file.readUInt32LE(body + 8),
        align: file.readUInt16LE(body + 12),
        bits: file.readUInt16LE(body + 14),
      };
    }
    if (id === "data") {
      if (!fmt || ![1, 3, 0xfffe].includes(fmt.encoding)) return null;
      const { channels, rate, byteRate, align, bits } = fmt;
      if (
        channels < 1 ||
        channels > 64 ||
        ![8, 16, 24, 32, 64].includes(bits) ||
        rate < 1000 ||
        rate > 768_000
      )
        return null;
      if (align !== (channels * bits) / 8 || byteRate !== rate * align) return null;
      return Math.min(size, file.length - body) / (rate * align);
    }
    at = body + size + (size % 2);
  }
  return null;
}

async function transcription(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
  let form: FormData;
  try {
    form = await new Request("http://fake/", {
      method: "POST",
      headers: { "content-type": String(req.headers["content-type"] ?? "") },
      body: new Uint8Array(raw),
    }).formData();
  } catch {
    return sendJson(res, 400, {
      error: { message: "send multipart/form-data", type: "invalid_request_error" },
    });
  }
  const model = String(form.get("model") ?? "");
  const file = form.get("file");
  if (!model || !(file instanceof Blob)) {
    return sendJson(res, 400, {
      error: { message: "model and file are required", type: "invalid_request_error" },
    });
  }
  countAttempt("/v1/audio/transcriptions", model);
  if (PROFILES[model]?.fail === "500") return sendJson(res, 500, FAILED);
  const seconds = wavSeconds(Buffer.from(await file.arrayBuffer()));
  if (seconds === null) {
    return sendJson(res, 400, {
      error: { message: "the fake transcribes WAV only", type: "invalid_request_error" },
    });
  }
  const text = `fake transcription of ${seconds.toFixed(2)} seconds`;
  if (form.get("response_format") === "verbose_json") {
    return sendJson(res, 200, {
      task: "transcribe",
      language: "english",
      duration: seconds,
      text,
      segments: [],
    });
  }
  // OpenAI's json answer carries the billed length as usage (type duration).
  return sendJson(res, 200, { text, usage: { type: "duration", seconds } });
}

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
let sequence = 0;
const newId = () => `chatcmpl-fake-${(++sequence).toString(36)}-${randomBytes(6).toString("hex")}`;

function sendJson(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Attempts seen per prompt by fake-flaky (bounded: the oldest prompts are forgotten). */
const flakyAttempts = new Map<string, number>();

/** fake-flaky: true while this prompt has had fewer than FAKE_FLAKY_FAILURES attempts. */
function flakyFails(body: ChatRequest): boolean {
  const key = createHash("sha256").update(JSON.stringify(body.messages)).digest("hex");
  const seen = flakyAttempts.get(key) ?? 0;
  flakyAttempts.set(key, seen + 1);
  if (flakyAttempts.size > 10_000) flakyAttempts.delete(flakyAttempts.keys().next().value!);
  return seen < (envNumber("FAKE_FLAKY_FAILURES") ?? 2);
}

async function chat(req: IncomingMessage, res: ServerResponse, body: ChatRequest) {
  const profile = profileFor(body, req.headers);
  await sleep(profile.ttftMs);
  if (profile.fail === "flaky" && flakyFails(body)) {
    return sendJson(res, 503, {
      error: { message: "fake upstream: overloaded, try again", type: "server_error", code: null },
    });
  }
  if (profile.fail === "500") {
    return sendJson(res, 500, {
      error: { message: "fake upstream: internal error", type: "server_error", code: null },
    });
  }
  if (profile.fail === "429") {
    res.setHeader("retry-after", "1");
    return sendJson(res, 429, {
      error: {
        message: "fake upstream: rate limited",
        type: "rate_limit_error",
        code: "rate_limit_exceeded",
      },
    });
  }
  if (profile.fail === "timeout") return; // never answers; the caller's timeout ends it
  // A provider generates and bills every one of the n choices.
  const choices = Array.from({ length: Math.max(1, Math.min(128, body.n ?? 1)) }, (_, i) =>
    completionTokens(body, i),
  );
  const tokens = choices[0]!;
  const promptTokens = countPromptTokens(body.messages, body.tools);
  if (tooLong(res, body.model, promptTokens)) return;
  const completion = choices.reduce((n, c) => n + c.length, 0);
  const usage = usageOf(
    PROFILES[body.model],
    promptTokens * (PROFILES[body.model]?.overbill ?? 1),
    completion,
  );
  const id = newId();
  const created = Math.floor(Date.now() / 1000);
  const perTokenMs = profile.tokensPerSecond > 0 ? 1000 / profile.tokensPerSecond : 0;

  if (!body.stream) {
    await sleep(perTokenMs * tokens.length);
    if (profile.fail === "cut") {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"id":"');
      return res.destroy();
    }
    return sendJson(res, 200, {
      id,
      object: "chat.completion",
      created,
      model: body.model,
      choices: choices.map((words, index) => ({
        index,
        message: { role: "assistant", content: words.join(" ") },
        finish_reason: "stop",
        logprobs: null,
      })),
      usage,
    });
  }

  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  const chunk = (
    delta: Record<string, unknown>,
    finish: string | null,
    extra: Record<string, unknown> = {},
    index = 0,
  ) =>
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [{ index, delta, finish_reason: finish }], ...extra })}\n\n`,
    );
  chunk({ role: "assistant", content: "" }, null);
  // Choices after the first go out whole before the first one streams (n > 1 is rare in streams).
  for (const [index, words] of choices.entries()) {
    if (index === 0) continue;
    chunk({ role: "assistant", content: words.join(" ") }, "stop", {}, index);
  }
  const cutAt = profile.fail === "cut" ? Math.max(1, Math.floor(tokens.length / 2)) : -1;
  // Tokens go out in small batches so high rates do not become one timer per token.
  const batch = Math.max(1, Math.round(profile.tokensPerSecond / 100));
  for (let i = 0; i < tokens.length; i += batch) {
    if (res.destroyed) return;
    for (const [j, token] of tokens.slice(i, i + batch).entries()) {
      if (i + j === cutAt) {
        // The stream is cut mid-way: what was sent arrives, then the connection drops (no usage, no [DONE]).
        await sleep(20);
        return res.destroy();
      }
      chunk({ content: i + j === 0 ? token : ` ${token}` }, null);
    }
    await sleep(perTokenMs * batch);
  }
  chunk({}, "stop");
  if (body.stream_options?.include_usage) {
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage })}\n\n`,
    );
  }
  res.end("data: [DONE]\n\n");
}

const requests: Record<string, number> = {};
/** The customer keys (byok-…) this provider accepts, and how many requests each authorized. */
const byokServed: Record<string, number> = {};
/** Requests received per route and model: tests count a call's attempts (its retries) at the provider. */
const attempts: Record<string, Record<string, number>> = {};

/** The last bodies received (route and raw text), newest last: tests check what reached the provider (the PII
 *  guardrails' masking). Bounded: the oldest go first. */
const RECEIVED_MAX = 200;
const received: { route: string; body: string }[] = [];

function remember(route: string, body: string) {
  received.push({ route, body });
  if (received.length > RECEIVED_MAX) received.splice(0, received.length - RECEIVED_MAX);
}

function countAttempt(route: string, model: string) {
  requests[model] = (requests[model] ?? 0) + 1;
  const perModel = attempts[route] ?? {};
  attempts[route] = perModel;
  perModel[model] = (perModel[model] ?? 0) + 1;
}

export function createFakeUpstream() {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "GET" && (url.pathname === "/health" || url.pathname === "/"))
      return sendJson(res, 200, { ok: true });
    // Requests received since start, per model and per route and model: tests read how often a deployment was tried.
    if (req.method === "GET" && url.pathname === "/stats") return sendJson(res, 200, { requests, attempts });
    // What reached the provider, body by body (DELETE forgets it).
    if (url.pathname === "/received") {
      if (req.method === "DELETE") received.length = 0;
      return sendJson(res, 200, { received });
    }
    // BYOK: a customer's own provider keys look like `byok-…`. Tests register the ones that are valid (POST /byok-keys
    // {key}); any other byok- key is refused with 401 as a provider would, and each call a valid one authorized is
    // counted under it (GET /byok-keys: served per key). Every other key (the platform's) is accepted as before.
    if (url.pathname === "/byok-keys") {
      if (req.method === "POST") {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const key = String(JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}").key ?? "");
          if (key.startsWith("byok-")) byokServed[key] ??= 0;
          sendJson(res, 200, { keys: Object.keys(byokServed).length });
        });
        return;
      }
      if (req.method === "DELETE") for (const key of Object.keys(byokServed)) delete byokServed[key];
      return sendJson(res, 200, { served: byokServed });
    }
    const bearer =
      (req.headers.authorization ?? "").replace(/^Bearer\s+/i, "") || String(req.headers["api-key"] ?? "");
    if (bearer.startsWith("byok-") && url.pathname.startsWith("/v1/")) {
      if (!(bearer in byokServed))
        return sendJson(res, 401, {
          error: {
            message: "Incorrect API key provided.",
            type: "invalid_request_error",
            code: "invalid_api_key",
          },
        });
      byokServed[bearer] = (byokServed[bearer] ?? 0) + 1;
    }
    // A model that fails, then recovers (routing's tests): POST /control {model, fail: "500" | "429" | … | null}.
    if (req.method === "POST" && url.pathname === "/control") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const { model, fail } = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
        if (typeof model !== "string") return sendJson(res, 400, { error: { message: "model is required" } });
        if (fail == null) failOverrides.delete(model);
        else failOverrides.set(model, String(fail) as Profile["fail"]);
        sendJson(res, 200, { overrides: Object.fromEntries(failOverrides) });
      });
      return;
    }
    if (req.method === "GET" && url.pathname === "/v1/models") {
      return sendJson(res, 200, {
        object: "list",
        data: Object.keys(PROFILES).map((id) => ({
          id,
          object: "model",
          created: 0,
          owned_by: "tollgate-fake",
        })),
      });
    }
    // POST routes: a JSON body with a model (and what the route needs), counted per model, then answered.
    const post = <T extends { model: string }>(
      path: string,
      needs: string,
      valid: (body: T) => boolean,
      answer: (body: T) => unknown,
    ) => {
      if (req.method !== "POST" || url.pathname !== path) return false;
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let body: T;
        const raw = Buffer.concat(chunks).toString("utf8");
        remember(path, raw);
        try {
          body = JSON.parse(raw);
          if (!body || typeof body.model !== "string" || !valid(body)) throw new Error("bad body");
        } catch {
          return sendJson(res, 400, {
            error: { message: `body must be JSON with model and ${needs}`, type: "invalid_request_error" },
          });
        }
        countAttempt(path, body.model);
        Promise.resolve(answer(body)).catch(() => res.destroy());
      });
      return true;
    };
    if (
      post<ChatRequest>(
        "/v1/chat/completions",
        "messages",
        (b) => Array.isArray(b.messages),
        (b) => chat(req, res, b),
      ) ||
      post<ResponsesRequest>(
        "/v1/responses",
        "input",
        (b) => b.input !== undefined,
        (b) => responses(res, b),
      ) ||
      post<EmbeddingRequest>(
        "/v1/embeddings",
        "input",
        (b) => b.input !== undefined,
        (b) => embeddings(res, b),
      ) ||
      post<CompletionRequest>(
        "/v1/completions",
        "prompt",
        (b) => b.prompt !== undefined,
        (b) => textCompletion(req, res, b),
      ) ||
      post<{ model: string; prompt: string; n?: number }>(
        "/v1/images/generations",
        "prompt",
        (b) => typeof b.prompt === "string",
        (b) => images(res, b),
      ) ||
      post<{ model: string; input: string }>(
        "/v1/audio/speech",
        "input",
        (b) => typeof b.input === "string",
        (b) => speech(res, b),
      )
    )
      return;
    if (req.method === "POST" && url.pathname === "/v1/audio/transcriptions") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => void transcription(req, res, Buffer.concat(chunks)).catch(() => res.destroy()));
      return;
    }
    sendJson(res, 404, {
      error: { message: `no route ${req.method} ${url.pathname}`, type: "invalid_request_error" },
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const portArg = process.argv.indexOf("--port");
  const port = Number(portArg > 0 ? process.argv[portArg + 1] : (process.env.FAKE_UPSTREAM_PORT ?? 4010));
  const server = createFakeUpstream();
  // Longer than LiteLLM keeps an idle connection in its pool (AIOHTTP_KEEPALIVE_TIMEOUT, 120 s at the pinned version):
  // a connection this server closed while the pool still held it failed the next call written to it ("Cannot write to
  // closing transport"), on every retry that picked another such connection, after a burst and a quiet minute.
  server.keepAliveTimeout = 180_000;
  server.headersTimeout = 181_000;
  server.listen(port, "127.0.0.1", () =>
    console.log(`fake upstream listening on http://127.0.0.1:${port}/v1`),
  );
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.on(signal, () => server.close(() => process.exit(0)));
}
