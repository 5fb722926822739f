"use client";

import { Code2 } from "lucide-react";
import { Button } from "@/components/ui/button";
import { CodeTabs } from "@/components/ui/code-tabs";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import { type ChatSettings, type PlaygroundMessage, requestBody } from "./settings";

/** The conversation so far as chat messages (system prompt first), as an app would send it. */
function chatMessages(settings: ChatSettings, messages: PlaygroundMessage[], draft = "Hello!") {
  const turns = messages.map((m) => ({
    role: m.role,
    content: m.parts
      .filter((p) => p.type === "text")
      .map((p) => p.text)
      .join(""),
  }));
  return [
    ...(settings.system.trim() ? [{ role: "system", content: settings.system.trim() }] : []),
    ...(turns.length ? turns : [{ role: "user", content: draft }]),
  ];
}

/** The request's settings (as the chat route takes them) under OpenAI's names. */
function params(settings: ChatSettings) {
  const b = requestBody(settings);
  return {
    model: b.model,
    ...(b.maxOutputTokens !== undefined ? { max_tokens: b.maxOutputTokens } : {}),
    ...(b.temperature !== undefined ? { temperature: b.temperature } : {}),
    ...(b.topP !== undefined ? { top_p: b.topP } : {}),
  };
}

export function requestSnippets(gatewayUrl: string, settings: ChatSettings, messages: PlaygroundMessage[]) {
  const body = { ...params(settings), messages: chatMessages(settings, messages) };
  const json = JSON.stringify(body, null, 2);
  const py = JSON.stringify(body.messages, null, 4).replace(/\n/g, "\n    ");
  const pyParams = Object.entries(params(settings))
    .filter(([k]) => k !== "model")
    .map(([k, v]) => `    ${k}=${v},\n`)
    .join("");
  const tsParams = Object.entries(params(settings))
    .filter(([k]) => k !== "model")
    .map(([k, v]) => `  ${k}: ${v},\n`)
    .join("");
  return {
    curl: `curl ${gatewayUrl}/chat/completions \\
  -H "Authorization: Bearer $TOLLGATE_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '${json.replace(/'/g, "'\\''")}'`,
    python: `from openai import OpenAI

client = OpenAI(base_url="${gatewayUrl}", api_key="YOUR_TOLLGATE_KEY")  # tg_…

response = client.chat.completions.create(
    model="${settings.model}",
    messages=${py},
${pyParams})
print(response.choices[0].message.content)`,
    typescript: `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${gatewayUrl}", apiKey: process.env.TOLLGATE_API_KEY }); // tg_…

const response = await client.chat.completions.create({
  model: "${settings.model}",
  messages: ${JSON.stringify(body.messages, null, 2).replace(/\n/g, "\n  ")},
${tsParams}});
console.log(response.choices[0].message.content);`,
  };
}

/** "View code": the current request as curl, Python and TypeScript with the official openai clients. */
export function CodeDialog({
  gatewayUrl,
  settings,
  messages,
}: {
  gatewayUrl: string;
  settings: ChatSettings;
  messages: PlaygroundMessage[];
}) {
  const snippets = requestSnippets(gatewayUrl, settings, messages);
  return (
    <Dialog>
      <DialogTrigger asChild>
        <Button variant="outline" size="sm">
          <Code2 /> View code
        </Button>
      </DialogTrigger>
      {/* One column that may shrink below its code's width, the dialog within the viewport: long lines and long
          conversations scroll inside their block, never past the dialog. */}
      <DialogContent
        className="max-h-[calc(100dvh-2rem)] grid-cols-[minmax(0,1fr)] grid-rows-[auto_minmax(0,1fr)] sm:max-w-3xl"
        data-testid="code-dialog"
      >
        <DialogHeader>
          <DialogTitle>This request in code</DialogTitle>
          <DialogDescription>
            With one of your own API keys (Account → API keys) in place of the placeholder; the playground's
            key is never shown.
          </DialogDescription>
        </DialogHeader>
        <CodeTabs snippets={snippets} className="min-h-0" codeClassName="max-h-[min(24rem,60dvh)]" />
      </DialogContent>
    </Dialog>
  );
}
