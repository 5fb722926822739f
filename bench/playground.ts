// bench/playground: what the playground adds to time to first token. The same model and prompt, streamed, through
// the real gateway: an app calling LiteLLM with its key (the official openai client), and the playground's own path
// (browser → Next.js route → ai SDK streamText → LiteLLM with the managed playground key → UI message stream).
// Calls alternate between the two, sequentially, so both see the same machine. Target: the playground adds < 50 ms
// at the median. Prints the figures; rewrites its section of docs/benchmarks.md.
//
//   npm run bench:playground            (BENCH_CALLS=40 to change the count)
import OpenAI from "openai";
import { startTestStack } from "@/tests/stack/start";
import { f1, machine, percentile, writeSection } from "./lib";

const CALLS = Number(process.env.BENCH_CALLS ?? 40);
const MODEL = "fake-small";
const prompt = (i: number) => `Say something about metering, take ${i}.`;

/** Time to the first text delta of a streamed chat call straight to the gateway, ms. */
async function direct(client: OpenAI, i: number): Promise<number> {
  const started = performance.now();
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: prompt(i) }],
    max_tokens: 16,
    stream: true,
  });
  let first = Number.NaN;
  for await (const chunk of stream) {
    if (Number.isNaN(first) && chunk.choices[0]?.delta?.content) first = performance.now() - started;
  }
  return first;
}

/** Time to the first text-delta part of the playground route's UI message stream, ms. */
async function playground(appUrl: string, cookie: string, i: number): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${appUrl}/api/v1/playground/chat`, {
    method: "POST",
    headers: { cookie, origin: appUrl, "content-type": "application/json" },
    body: JSON.stringify({
      id: `bench-${i}`,
      messages: [{ id: `m-${i}`, role: "user", parts: [{ type: "text", text: prompt(i) }] }],
      model: MODEL,
      maxOutputTokens: 16,
    }),
  });
  if (!res.ok || !res.body) throw new Error(`playground answered ${res.status}: ${await res.text()}`);
  let first = Number.NaN;
  const decoder = new TextDecoder();
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (Number.isNaN(first) && decoder.decode(bytes, { stream: true }).includes('"type":"text-delta"'))
      first = performance.now() - started;
  }
  return first;
}

async function main() {
  console.log(`bench/playground — ${machine()}`);
  process.stdout.write("▸ starting PostgreSQL, the fake upstream, LiteLLM and the app… ");
  const stack = await startTestStack({
    name: "bench-playground",
    appPort: 3310,
    pgPort: 25446,
    gateway: { litellm: 4220, upstream: 4230 },
    // A fixed 50 ms to the upstream's first token: what is measured beyond it is the path.
    upstreamEnv: { FAKE_TTFT_MS: "50", FAKE_TPS: "400" },
  });
  console.log("ready");
  try {
    const { developer } = stack.credentials;
    const login = await fetch(`${stack.appUrl}/api/auth/login`, {
      method: "POST",
      headers: { origin: stack.appUrl, "content-type": "application/json" },
      body: JSON.stringify({ email: developer.email, password: developer.password }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    if (!login.ok || !cookie) throw new Error(`sign-in failed: ${login.status}`);
    const client = new OpenAI({ baseURL: stack.gatewayUrl, apiKey: developer.apiKey!, maxRetries: 0 });
    process.stdout.write("▸ warm-up… ");
    for (let i = 0; i < 5; i++) {
      await direct(client, -i);
      await playground(stack.appUrl, cookie, -i);
    }
    process.stdout.write(`${CALLS} calls each, alternating… `);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      a.push(await direct(client, i));
      b.push(await playground(stack.appUrl, cookie, i));
    }
    console.log("done");
    a.sort((x, y) => x - y);
    b.sort((x, y) => x - y);
    const row = (label: string, s: number[]) =>
      `| ${label} | ${f1(percentile(s, 50))} | ${f1(percentile(s, 95))} | ${f1(s[0]!)} |`;
    const added = percentile(b, 50) - percentile(a, 50);
    const verdict = added < 50 ? "meets" : "misses";
    const table = [
      "| path | TTFT p50 (ms) | p95 | min |",
      "| --- | ---: | ---: | ---: |",
      row("app → LiteLLM (openai client, key)", a),
      row("playground (route → streamText → LiteLLM)", b),
    ].join("\n");
    console.log(table);
    console.log(`playground adds ${f1(added)} ms at the median: ${verdict} the < 50 ms target`);
    writeSection(
      "playground",
      `## Playground time to first token (\`npm run bench:playground\`)

${machine()}; ${CALLS} streamed calls each to ${MODEL} (the fake upstream's first token after 50 ms), alternating,
one at a time, same prompt shape; the playground call is signed in as the demo developer and uses the managed
playground key.

${table}

The playground adds **${f1(added)} ms** at the median (target < 50 ms: ${verdict}). Its extra path: the Next.js route
(session check, playground key lookup), the ai SDK's request to LiteLLM, and the UI message stream back.`,
    );
  } finally {
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
