"use client";

import { useChat } from "@ai-sdk/react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { DefaultChatTransport } from "ai";
import { Bot, RotateCcw, Send, Square, Trash2, User, Wallet } from "lucide-react";
import { useContext, useEffect, useMemo, useRef, useState } from "react";
import ReactMarkdown from "react-markdown";
import { Money } from "@/components/billing/money";
import { useMyAccount } from "@/components/billing/queries";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy-button";
import { Field } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import Link from "@/components/ui/link";
import type { Json } from "@/lib/json";
import type { CallCharge } from "@/lib/playground/calls";
import { api } from "@/lib/ui/api";
import { cn } from "@/lib/utils";
import { CodeDialog } from "./code-dialog";
import { ConversationList, useSaveConversation } from "./conversations";
import { ErrorNotice } from "./error-notice";
import { ANSWER_MARKDOWN } from "./markdown";
import { ModelOptions, ModelPrices, useDefaultModel, usePlaygroundModels } from "./models";
import { PlaygroundOrg } from "./org-context";
import {
  type ChatSettings,
  DEFAULT_SETTINGS,
  markStopped,
  type PlaygroundMessage,
  requestBody,
} from "./settings";

/** The chat route, with the organization that pays for each turn when the playground is in one. */
function useChatTransport() {
  const org = useContext(PlaygroundOrg);
  return useMemo(
    () =>
      new DefaultChatTransport({ api: "/api/v1/playground/chat", body: org ? { org: org.slug } : undefined }),
    [org],
  );
}

/** The balance the playground spends: the organization's when it is in one. */
function useSpentAccount() {
  const org = useContext(PlaygroundOrg);
  const mine = useMyAccount();
  const theirs = useQuery({
    queryKey: ["orgs", "playground", org?.slug],
    queryFn: () =>
      api<{ organization: { account: { balanceMicros: number; heldMicros: number } } }>(
        `/api/v1/orgs/${encodeURIComponent(org!.slug)}`,
      ),
    enabled: org !== null,
  });
  return org ? theirs.data?.organization.account : mine.data?.account;
}

/** The live balance (the ledger's), refreshed after every answer; what calls in progress hold is said beside it. */
export function BalanceBadge() {
  const org = useContext(PlaygroundOrg);
  const account = useSpentAccount();
  return (
    <Link
      href={org ? `/orgs/${org.slug}/billing` : "/account/billing"}
      className="inline-flex items-center gap-2 rounded-md border px-3 py-1.5 text-sm hover:bg-muted"
      title={`${org ? `${org.name}'s balance` : "Your balance"}. Reserved: set aside for calls in progress and gateway leases (not spent); what a call does not use comes back when it settles`}
    >
      <Wallet className="size-4" />
      {account ? <Money micros={account.balanceMicros} testId="playground-balance" /> : "…"}
      {account && account.heldMicros > 0 ? (
        <span className="text-xs text-muted-foreground" data-testid="playground-reserved">
          <Money micros={account.heldMicros} /> reserved, not spent
        </span>
      ) : null}
    </Link>
  );
}

type ChargeView = Json<CallCharge>;

/** Polls for a call's charge: twice a second at first, then every 2 s; after two minutes it stops and says so. */
const chargePollMs = (polls: number) => (polls < 20 ? 500 : polls < 70 ? 2000 : false);

/**
 * What a call was charged, from the ledger once the gateway's event has arrived: until then the endpoint answers
 * 202 (pending), so waiting for it logs no failed request.
 */
export function Charge({ callId }: { callId: string }) {
  const qc = useQueryClient();
  const polls = useRef(0);
  const { data, isFetching } = useQuery({
    queryKey: ["playground-call", callId],
    queryFn: async () => {
      polls.current += 1;
      const res = await fetch(`/api/v1/playground/calls/${encodeURIComponent(callId)}`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return ((await res.json()) as { call: ChargeView | null }).call;
    },
    refetchInterval: (q) => (q.state.data ? false : chargePollMs(polls.current)),
    staleTime: Number.POSITIVE_INFINITY,
  });
  useEffect(() => {
    if (!data) return;
    qc.invalidateQueries({ queryKey: ["account", "me"] });
    qc.invalidateQueries({ queryKey: ["orgs", "playground"] });
  }, [data, qc]);
  if (!data)
    return chargePollMs(polls.current) === false && !isFetching ? (
      <span data-testid="turn-cost">
        cost not reported yet: see{" "}
        <Link href="/account/requests" className="underline">
          My calls
        </Link>
      </span>
    ) : (
      <span data-testid="turn-cost">cost pending…</span>
    );
  return (
    <span data-testid="turn-cost" data-micros={data.chargedMicros}>
      <Money micros={data.chargedMicros} />{" "}
      <Badge variant={data.billingStatus === "exact" ? "secondary" : "warning"}>{data.billingStatus}</Badge>
    </span>
  );
}

function textOf(m: PlaygroundMessage): string {
  return m.parts
    .filter((p) => p.type === "text")
    .map((p) => p.text)
    .join("");
}

/** One message: the user's as typed, the model's as Markdown (never raw HTML), with its usage, cost and actions. */
export function MessageView({
  message,
  onRegenerate,
}: {
  message: PlaygroundMessage;
  onRegenerate?: () => void;
}) {
  const text = textOf(message);
  const meta = message.metadata;
  const mine = message.role === "user";
  return (
    <div className={cn("flex gap-3", mine && "flex-row-reverse")}>
      <div className="mt-1 flex size-7 shrink-0 items-center justify-center rounded-full bg-muted">
        {mine ? <User className="size-4" /> : <Bot className="size-4" />}
      </div>
      <div className={cn("grid min-w-0 max-w-[85%] gap-1", mine && "justify-items-end")}>
        <div
          data-testid={`message-${message.role}`}
          className={cn(
            "rounded-lg px-3 py-2 text-sm",
            mine ? "whitespace-pre-wrap bg-primary text-primary-foreground" : "markdown bg-muted",
          )}
        >
          {mine ? text : <ReactMarkdown {...ANSWER_MARKDOWN}>{text}</ReactMarkdown>}
        </div>
        {!mine && meta ? (
          <div
            data-testid="turn-metadata"
            className="flex flex-wrap items-center gap-x-2 text-xs text-muted-foreground"
          >
            <span>{meta.model}</span>
            {meta.totalMs ? (
              <span>
                {meta.inputTokens ?? "?"} in / {meta.outputTokens ?? "?"} out tokens
              </span>
            ) : null}
            {meta.firstTokenMs !== null ? <span>first token {meta.firstTokenMs} ms</span> : null}
            {meta.totalMs ? <span>{(meta.totalMs / 1000).toFixed(2)} s</span> : null}
            {meta.stopped ? (
              <Badge
                variant="outline"
                data-testid="turn-stopped"
                title="You pressed Stop: the answer is cut short"
              >
                <Square className="size-3" /> stopped
              </Badge>
            ) : null}
            {meta.callId ? <Charge callId={meta.callId} /> : null}
            <CopyButton text={text} label="Copy answer" />
            {onRegenerate ? (
              <Button
                type="button"
                variant="ghost"
                size="icon"
                className="size-6"
                aria-label="Regenerate"
                onClick={onRegenerate}
              >
                <RotateCcw className="size-3.5" />
              </Button>
            ) : null}
          </div>
        ) : null}
      </div>
    </div>
  );
}

export function SettingsFields({
  settings,
  onChange,
  withModel = true,
}: {
  settings: ChatSettings;
  onChange: (s: ChatSettings) => void;
  withModel?: boolean;
}) {
  const set = (patch: Partial<ChatSettings>) => onChange({ ...settings, ...patch });
  return (
    <>
      {withModel ? (
        <Field id="pg-model" label="Model" hint={<ModelPrices model={settings.model} />}>
          <select
            id="pg-model"
            className="h-9 w-full min-w-0 rounded-md border border-input bg-transparent px-3 text-sm"
            value={settings.model}
            onChange={(e) => set({ model: e.target.value })}
          >
            <ModelOptions />
          </select>
        </Field>
      ) : null}
      <Field id="pg-system" label="System prompt">
        <textarea
          id="pg-system"
          rows={3}
          className="rounded-md border border-input bg-transparent px-3 py-2 text-sm"
          placeholder="You are a helpful assistant."
          value={settings.system}
          onChange={(e) => set({ system: e.target.value })}
        />
      </Field>
      <div className="grid grid-cols-2 gap-2">
        <Field id="pg-temp" label="Temperature">
          <Input
            id="pg-temp"
            type="number"
            min={0}
            max={2}
            step={0.1}
            value={settings.temperature}
            onChange={(e) => set({ temperature: e.target.value })}
          />
        </Field>
        <Field id="pg-top-p" label="Top-p">
          <Input
            id="pg-top-p"
            type="number"
            min={0}
            max={1}
            step={0.05}
            value={settings.topP}
            onChange={(e) => set({ topP: e.target.value })}
          />
        </Field>
        <Field id="pg-max" label="Max tokens" className="col-span-2">
          <Input
            id="pg-max"
            type="number"
            min={1}
            value={settings.maxTokens}
            onChange={(e) => set({ maxTokens: e.target.value })}
          />
        </Field>
      </div>
    </>
  );
}

export function Playground({
  gatewayUrl,
  org = null,
}: {
  gatewayUrl: string;
  /** The organization whose account pays for the turns (its playground key, within the member's caps). */
  org?: { slug: string; name: string } | null;
}) {
  const [mode, setMode] = useState<"chat" | "compare">("chat");
  return (
    <PlaygroundOrg.Provider value={org}>
      <div className="grid gap-4">
        <div className="flex gap-1" role="tablist" aria-label="Playground mode">
          {(["chat", "compare"] as const).map((m) => (
            <Button
              key={m}
              role="tab"
              aria-selected={mode === m}
              size="sm"
              variant={mode === m ? "default" : "outline"}
              onClick={() => setMode(m)}
            >
              {m === "chat" ? "Chat" : "Compare models"}
            </Button>
          ))}
        </div>
        {mode === "chat" ? <ChatMode gatewayUrl={gatewayUrl} /> : <CompareMode />}
      </div>
    </PlaygroundOrg.Provider>
  );
}

function ChatMode({ gatewayUrl }: { gatewayUrl: string }) {
  const qc = useQueryClient();
  const [settings, setSettings] = useState<ChatSettings>(DEFAULT_SETTINGS);
  useDefaultModel(settings, setSettings);
  const [conversationId, setConversationId] = useState<string | null>(null);
  const save = useSaveConversation();
  const [input, setInput] = useState("");
  const log = useRef<HTMLDivElement>(null);
  const transport = useChatTransport();
  // Read by onFinish, which the chat keeps from its first render.
  const latest = useRef({ settings, conversationId });
  latest.current = { settings, conversationId };
  // Stop pressed, as opposed to an answer abandoned by starting or opening another chat.
  const stopPressed = useRef(false);
  const { messages, sendMessage, regenerate, status, stop, error, setMessages, clearError } =
    useChat<PlaygroundMessage>({
      transport,
      onFinish: ({ message, messages: all, isError, isAbort }) => {
        qc.invalidateQueries({ queryKey: ["account", "me"] });
        qc.invalidateQueries({ queryKey: ["orgs", "playground"] });
        if (isError || (isAbort && !stopPressed.current)) return;
        let saved = all;
        if (isAbort && message.role === "assistant") {
          const stopped = markStopped(message, latest.current.settings.model);
          saved = all.map((m) => (m.id === message.id ? stopped : m));
          setMessages((current) => current.map((m) => (m.id === message.id ? stopped : m)));
        }
        save.mutate(
          { id: latest.current.conversationId, settings: latest.current.settings, messages: saved },
          { onSuccess: (c) => setConversationId(c.id) },
        );
      },
    });
  // The log scrolls inside its card to its newest line; the page itself never moves (scrollIntoView would scroll
  // every scrollable ancestor, the window too).
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever the conversation grows
  useEffect(() => {
    const el = log.current;
    if (el) el.scrollTo({ top: el.scrollHeight, behavior: "smooth" });
  }, [messages]);

  const busy = status === "submitted" || status === "streaming";
  const send = (e: React.FormEvent) => {
    e.preventDefault();
    if (!input.trim() || !settings.model || busy) return;
    stopPressed.current = false;
    sendMessage({ text: input }, { body: requestBody(settings) });
    setInput("");
  };
  const startNew = () => {
    stop();
    setMessages([]);
    clearError();
    setConversationId(null);
  };
  const last = messages.at(-1);

  return (
    <div className="grid gap-6 lg:grid-cols-[18rem_1fr]">
      <div className="grid h-fit min-w-0 gap-6">
        <ConversationList
          current={conversationId}
          onNew={startNew}
          onOpen={(c) => {
            stop();
            clearError();
            setConversationId(c.id);
            setSettings({ ...DEFAULT_SETTINGS, ...c.settings });
            setMessages(c.messages);
          }}
        />
        <Card className="h-fit">
          <CardHeader>
            <CardTitle>Settings</CardTitle>
            <CardDescription>
              Calls go through the gateway with your playground key, managed by Tollgate, and are billed like
              any key's.
            </CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4">
            <SettingsFields settings={settings} onChange={setSettings} />
          </CardContent>
        </Card>
      </div>
      <Card className="flex min-h-[32rem] flex-col lg:h-[calc(100dvh-9rem)]">
        <CardHeader className="flex flex-row items-center justify-between gap-2">
          <CardTitle className="text-base">Chat</CardTitle>
          <div className="flex items-center gap-2">
            <CodeDialog gatewayUrl={gatewayUrl} settings={settings} messages={messages} />
            <BalanceBadge />
          </div>
        </CardHeader>
        <CardContent className="flex min-h-0 flex-1 flex-col gap-4">
          <div
            ref={log}
            className="flex min-h-0 flex-1 flex-col gap-4 overflow-y-auto"
            data-testid="chat-log"
          >
            {messages.length === 0 ? (
              <p className="m-auto text-sm text-muted-foreground">Send a message to start.</p>
            ) : null}
            {messages.map((m) => (
              <MessageView
                key={m.id}
                message={m}
                onRegenerate={
                  m === last && m.role === "assistant" && !busy
                    ? () => {
                        stopPressed.current = false;
                        regenerate({ body: requestBody(settings) });
                      }
                    : undefined
                }
              />
            ))}
            {error ? <ErrorNotice message={error.message} /> : null}
          </div>
          <form onSubmit={send} className="flex items-end gap-2">
            <textarea
              aria-label="Message"
              className="min-h-10 flex-1 resize-none rounded-md border border-input bg-transparent px-3 py-2 text-sm outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50"
              rows={2}
              placeholder="Ask something…"
              value={input}
              onChange={(e) => setInput(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey) send(e);
              }}
            />
            {busy ? (
              <Button
                type="button"
                variant="outline"
                onClick={() => {
                  stopPressed.current = true;
                  stop();
                }}
                aria-label="Stop"
              >
                <Square /> Stop
              </Button>
            ) : (
              <Button type="submit" disabled={!input.trim() || !settings.model}>
                <Send /> Send
              </Button>
            )}
            <Button type="button" variant="ghost" size="icon" aria-label="Clear chat" onClick={startNew}>
              <Trash2 />
            </Button>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}

/** One model's side of a comparison: its own chat, sent the same prompt as the others. */
function ComparePane({
  model,
  settings,
  prompt,
  onModel,
}: {
  model: string;
  settings: ChatSettings;
  prompt: { text: string; n: number } | null;
  onModel: (model: string) => void;
}) {
  const qc = useQueryClient();
  const transport = useChatTransport();
  const stopPressed = useRef(false);
  // Read by onFinish, which the chat keeps from its first render.
  const latestModel = useRef(model);
  latestModel.current = model;
  const { messages, sendMessage, setMessages, status, error, stop } = useChat<PlaygroundMessage>({
    transport,
    onFinish: ({ message, isAbort }) => {
      qc.invalidateQueries({ queryKey: ["account", "me"] });
      qc.invalidateQueries({ queryKey: ["orgs", "playground"] });
      if (!isAbort || !stopPressed.current || message.role !== "assistant") return;
      const stopped = markStopped(message, latestModel.current);
      setMessages((current) => current.map((m) => (m.id === message.id ? stopped : m)));
    },
  });
  const sent = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: each new prompt (n) is sent once
  useEffect(() => {
    if (!prompt || prompt.n === sent.current || !model) return;
    sent.current = prompt.n;
    stopPressed.current = false;
    setMessages([]);
    sendMessage({ text: prompt.text }, { body: requestBody(settings, model) });
  }, [prompt]);
  const answer = messages.find((m) => m.role === "assistant");
  return (
    <Card className="flex min-w-0 flex-col" data-testid="compare-pane">
      <CardHeader className="grid gap-2">
        <select
          aria-label="Model to compare"
          className="h-9 w-full min-w-0 rounded-md border border-input bg-transparent px-3 text-sm"
          value={model}
          onChange={(e) => onModel(e.target.value)}
        >
          <ModelOptions />
        </select>
      </CardHeader>
      <CardContent className="grid flex-1 content-start gap-3">
        {answer ? <MessageView message={answer} /> : null}
        {status === "submitted" ? (
          <p className="text-sm text-muted-foreground">Waiting for the first token…</p>
        ) : null}
        {error ? <ErrorNotice message={error.message} /> : null}
        {status === "streaming" ? (
          <Button
            type="button"
            size="sm"
            variant="outline"
            className="w-fit"
            onClick={() => {
              stopPressed.current = true;
              stop();
            }}
          >
            <Square /> Stop
          </Button>
        ) : null}
      </CardContent>
    </Card>
  );
}

/** One prompt to two or three models side by side, each answer with its latency, tokens and cost. */
function CompareMode() {
  const { models, defaultModel } = usePlaygroundModels();
  const [settings, setSettings] = useState<ChatSettings>(DEFAULT_SETTINGS);
  const [picked, setPicked] = useState<string[]>([]);
  const [input, setInput] = useState("");
  const [prompt, setPrompt] = useState<{ text: string; n: number } | null>(null);
  // The default first, then the other chat models, legacy-completions models last.
  const names = useMemo(
    () =>
      [...models]
        .sort(
          (a, b) =>
            Number(b.name === defaultModel) - Number(a.name === defaultModel) ||
            Number(a.api !== "chat") - Number(b.api !== "chat"),
        )
        .map((m) => m.name),
    [models, defaultModel],
  );
  useEffect(() => {
    if (!picked.length && names.length) setPicked(names.slice(0, Math.min(2, names.length)));
  }, [names, picked.length]);
  return (
    <div className="grid gap-4">
      <Card>
        <CardContent className="grid gap-3 pt-6">
          <form
            className="flex items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              if (input.trim()) setPrompt({ text: input.trim(), n: (prompt?.n ?? 0) + 1 });
            }}
          >
            <textarea
              aria-label="Prompt to compare"
              rows={2}
              className="min-h-10 flex-1 resize-none rounded-md border border-input bg-transparent px-3 py-2 text-sm"
              placeholder="One prompt, sent to each model…"
              value={input}
              onChange={(e) => setInput(e.target.value)}
            />
            <Button type="submit" disabled={!input.trim() || picked.length < 2}>
              <Send /> Compare
            </Button>
            {picked.length < 3 && names.length > picked.length ? (
              <Button
                type="button"
                variant="outline"
                onClick={() => setPicked([...picked, names.find((n) => !picked.includes(n)) ?? names[0]!])}
              >
                Add a model
              </Button>
            ) : null}
            {picked.length > 2 ? (
              <Button type="button" variant="ghost" onClick={() => setPicked(picked.slice(0, -1))}>
                Remove one
              </Button>
            ) : null}
            <BalanceBadge />
          </form>
          <details>
            <summary className="cursor-pointer text-sm text-muted-foreground">
              System prompt and sampling
            </summary>
            <div className="mt-3 grid max-w-xl gap-3">
              <SettingsFields settings={settings} onChange={setSettings} withModel={false} />
            </div>
          </details>
        </CardContent>
      </Card>
      <div className={cn("grid gap-4", picked.length === 3 ? "lg:grid-cols-3" : "lg:grid-cols-2")}>
        {picked.map((model, i) => (
          <ComparePane
            // biome-ignore lint/suspicious/noArrayIndexKey: a pane is its position; its model may change
            key={i}
            model={model}
            settings={settings}
            prompt={prompt}
            onModel={(m) => setPicked(picked.map((p, j) => (j === i ? m : p)))}
          />
        ))}
      </div>
    </div>
  );
}
