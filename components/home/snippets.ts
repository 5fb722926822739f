/** Wraps text in single quotes for a POSIX shell: each ' inside becomes '\'' (close, escaped quote, reopen). */
const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** The environment variable every snippet reads the secret from: Tollgate never shows a secret twice. */
export const KEY_VARIABLE = "TOLLGATE_API_KEY";

/**
 * A first call through the gateway's OpenAI-compatible chat route, as curl, Python and TypeScript with the official
 * `openai` clients. The secret is never in them: each reads $TOLLGATE_API_KEY, so they work as pasted once it is
 * exported.
 */
export function quickStartSnippets(gatewayUrl: string, model: string) {
  const base = gatewayUrl.replace(/\/$/, "");
  const message = "Say hello in five words.";
  const body = JSON.stringify({ model, messages: [{ role: "user", content: message }] });
  const py = JSON.stringify;
  return {
    curl: `curl ${shellQuote(`${base}/chat/completions`)} \\
  -H "Authorization: Bearer $${KEY_VARIABLE}" \\
  -H "Content-Type: application/json" \\
  -d ${shellQuote(body)}`,
    python: `import os
from openai import OpenAI

client = OpenAI(base_url=${py(base)}, api_key=os.environ["${KEY_VARIABLE}"])
reply = client.chat.completions.create(
    model=${py(model)},
    messages=[{"role": "user", "content": ${py(message)}}],
)
print(reply.choices[0].message.content)`,
    typescript: `import OpenAI from "openai";

const client = new OpenAI({ baseURL: ${py(base)}, apiKey: process.env.${KEY_VARIABLE} });
const reply = await client.chat.completions.create({
  model: ${py(model)},
  messages: [{ role: "user", content: ${py(message)} }],
});
console.log(reply.choices[0]?.message.content);`,
  };
}
