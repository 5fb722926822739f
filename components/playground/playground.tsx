"use client";

import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, type UIMessage } from "ai";
import { Bot, KeyRound, Send, Square, Trash2, User } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { useCreateKey, useModels } from "@/components/keys/queries";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { cn } from "@/lib/utils";

interface TurnMetadata {
  model: string;
  inputTokens: number | null;
  outputTokens: number | null;
  firstTokenMs: number | null;
  totalMs: number;
}

type PlaygroundMessage = UIMessage<TurnMetadata>;

const KEY_STORAGE = "tollgate.playground.key";

export function Playground() {
  const models = useModels();
  const createKey = useCreateKey();
  const [apiKey, setApiKey] = useState("");
  const [model, setModel] = useState("");
  const [maxTokens, setMaxTokens] = useState("256");
  const [temperature, setTemperature] = useState("0.7");
  const [input, setInput] = useState("");
  const bottom = useRef<HTMLDivElement>(null);
  const { messages, sendMessage, status, stop, error, setMessages } = useChat<PlaygroundMessage>({
    transport: new DefaultChatTransport({ api: "/api/v1/playground/chat" }),
  });

  useEffect(() => {
    setApiKey(sessionStorage.getItem(KEY_STORAGE) ?? "");
  }, []);
  useEffect(() => {
    if (!model && models.data?.items[0]) setModel(models.data.items[0].publicName);
  }, [models.data, model]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever the conversation grows
  useEffect(() => {
    bottom.current?.scrollIntoView({ behavior: "smooth" });
  }, [messages]);

  const rememberKey = (key: string) => {
    setApiKey(key);
    sessionStorage.setItem(KEY_STORAGE, key);
  };
  const newPlaygroundKey = () =>
    createKey.mutate(
      {
        name: `Playground ${new Date().toISOString().slice(0, 10)}`,
        expiresAt: new Date(Date.now() + 24 * 3600_000).toISOString(),
      },
      { onSuccess: ({ secret }) => secret && rememberKey(secret) },
    );
  const busy = status === "submitted" || status === "streaming";
  const send = (e: React.FormEvent) => {
    e.preventDefault();
    if (!input.trim() || !apiKey || !model || busy) return;
    sendMessage(
      { text: input },
      {
        body: {
          model,
          apiKey,
          maxOutputTokens: Number(maxTokens) || undefined,
          temperature: Number(temperature),
        },
      },
    );
    setInput("");
  };

  return (
    <div className="grid gap-6 lg:grid-cols-[18rem_1fr]">
      <Card className="h-fit">
        <CardHeader>
          <CardTitle>Settings</CardTitle>
          <CardDescription>
            Calls go through the gateway with your key and are metered like any app's.
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <Field id="pg-key" label="API key" hint="Kept in this tab only.">
            <Input
              id="pg-key"
              type="password"
              placeholder="tg_…"
              value={apiKey}
              onChange={(e) => rememberKey(e.target.value.trim())}
            />
          </Field>
          <Button variant="outline" size="sm" onClick={newPlaygroundKey} disabled={createKey.isPending}>
            <KeyRound /> New 24-hour playground key
          </Button>
          <FormError message={createKey.error?.message} />
          <Field id="pg-model" label="Model">
            <select
              id="pg-model"
              className="h-9 rounded-md border border-input bg-transparent px-3 text-sm"
              value={model}
              onChange={(e) => setModel(e.target.value)}
            >
              {models.data?.items.map((m) => (
                <option key={m.id} value={m.publicName}>
                  {m.publicName}
                </option>
              ))}
            </select>
          </Field>
          <div className="grid grid-cols-2 gap-3">
            <Field id="pg-max" label="Max tokens">
              <Input
                id="pg-max"
                type="number"
                min={1}
                value={maxTokens}
                onChange={(e) => setMaxTokens(e.target.value)}
              />
            </Field>
            <Field id="pg-temp" label="Temperature">
              <Input
                id="pg-temp"
                type="number"
                min={0}
                max={2}
                step={0.1}
                value={temperature}
                onChange={(e) => setTemperature(e.target.value)}
              />
            </Field>
          </div>
        </CardContent>
      </Card>
      <Card className="flex min-h-[32rem] flex-col">
        <CardContent className="flex flex-1 flex-col gap-4">
          <div className="flex flex-1 flex-col gap-4 overflow-y-auto" data-testid="chat-log">
            {messages.length === 0 ? (
              <p className="m-auto text-sm text-muted-foreground">
                {apiKey
                  ? "Send a message to start."
                  : "Paste one of your keys or create a playground key to start."}
              </p>
            ) : null}
            {messages.map((m) => (
              <div key={m.id} className={cn("flex gap-3", m.role === "user" && "flex-row-reverse")}>
                <div className="mt-1 flex size-7 shrink-0 items-center justify-center rounded-full bg-muted">
                  {m.role === "user" ? <User className="size-4" /> : <Bot className="size-4" />}
                </div>
                <div className={cn("grid max-w-[80%] gap-1", m.role === "user" && "justify-items-end")}>
                  <div
                    data-testid={`message-${m.role}`}
                    className={cn(
                      "rounded-lg px-3 py-2 text-sm whitespace-pre-wrap",
                      m.role === "user" ? "bg-primary text-primary-foreground" : "bg-muted",
                    )}
                  >
                    {m.parts
                      .filter((p) => p.type === "text")
                      .map((p) => p.text)
                      .join("")}
                  </div>
                  {m.metadata ? (
                    <div data-testid="turn-metadata" className="text-xs text-muted-foreground">
                      {m.metadata.model} · {m.metadata.inputTokens ?? "?"} in /{" "}
                      {m.metadata.outputTokens ?? "?"} out tokens
                      {m.metadata.firstTokenMs !== null ? ` · first token ${m.metadata.firstTokenMs} ms` : ""}{" "}
                      · {(m.metadata.totalMs / 1000).toFixed(2)} s
                    </div>
                  ) : null}
                </div>
              </div>
            ))}
            <div ref={bottom} />
          </div>
          {error ? <FormError message={error.message} /> : null}
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
              <Button type="button" variant="outline" onClick={stop} aria-label="Stop">
                <Square /> Stop
              </Button>
            ) : (
              <Button type="submit" disabled={!apiKey || !input.trim()}>
                <Send /> Send
              </Button>
            )}
            <Button
              type="button"
              variant="ghost"
              size="icon"
              aria-label="Clear chat"
              onClick={() => setMessages([])}
            >
              <Trash2 />
            </Button>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}
