// A first call to one model through the gateway, as curl, Python and TypeScript with the official `openai` clients,
// in the call kind the model is sold for (chat, legacy completions, embeddings, images, speech, transcription). The
// secret is never in them: each reads $TOLLGATE_API_KEY. No server-only: the model page renders them.

export const KEY_VARIABLE = "TOLLGATE_API_KEY";

export interface Snippets {
  kind: string;
  curl: string;
  python: string;
  typescript: string;
}

/** Single quotes for a POSIX shell: each ' inside becomes '\'' (close, escaped quote, reopen). */
const sh = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
const q = JSON.stringify;

/** The kind a quick start shows: the first the model is served for that the snippets know, else chat. */
export function quickStartKind(kinds: readonly string[]): string {
  const known = ["chat", "completion", "embedding", "image", "speech", "transcription"];
  return kinds.find((k) => known.includes(k)) ?? "chat";
}

export function modelSnippets(gatewayUrl: string, model: string, kinds: readonly string[]): Snippets {
  const base = gatewayUrl.replace(/\/$/, "");
  const kind = quickStartKind(kinds);
  const head = (path: string, json = true) =>
    `curl ${sh(`${base}${path}`)} \\\n  -H "Authorization: Bearer $${KEY_VARIABLE}"${json ? ` \\\n  -H "Content-Type: application/json"` : ""}`;
  const py = `import os\nfrom openai import OpenAI\n\nclient = OpenAI(base_url=${q(base)}, api_key=os.environ["${KEY_VARIABLE}"])\n`;
  const ts = `import OpenAI from "openai";\n\nconst client = new OpenAI({ baseURL: ${q(base)}, apiKey: process.env.${KEY_VARIABLE} });\n`;
  switch (kind) {
    case "completion": {
      const prompt = "Write a haiku about tolls.";
      return {
        kind,
        curl: `${head("/completions")} \\\n  -d ${sh(q({ model, prompt, max_tokens: 64 }))}`,
        python: `${py}reply = client.completions.create(model=${q(model)}, prompt=${q(prompt)}, max_tokens=64)\nprint(reply.choices[0].text)`,
        typescript: `${ts}const reply = await client.completions.create({ model: ${q(model)}, prompt: ${q(prompt)}, max_tokens: 64 });\nconsole.log(reply.choices[0]?.text);`,
      };
    }
    case "embedding": {
      const input = "The quick brown fox";
      return {
        kind,
        curl: `${head("/embeddings")} \\\n  -d ${sh(q({ model, input }))}`,
        python: `${py}result = client.embeddings.create(model=${q(model)}, input=${q(input)})\nprint(len(result.data[0].embedding))`,
        typescript: `${ts}const result = await client.embeddings.create({ model: ${q(model)}, input: ${q(input)} });\nconsole.log(result.data[0]?.embedding.length);`,
      };
    }
    case "image": {
      const prompt = "A lighthouse at dawn, watercolor";
      return {
        kind,
        curl: `${head("/images/generations")} \\\n  -d ${sh(q({ model, prompt, n: 1 }))}`,
        python: `${py}image = client.images.generate(model=${q(model)}, prompt=${q(prompt)}, n=1)\nprint(image.data[0].url or "base64 image received")`,
        typescript: `${ts}const image = await client.images.generate({ model: ${q(model)}, prompt: ${q(prompt)}, n: 1 });\nconsole.log(image.data?.[0]?.url ?? "base64 image received");`,
      };
    }
    case "speech": {
      const input = "Hello from Tollgate.";
      return {
        kind,
        curl: `${head("/audio/speech")} \\\n  -d ${sh(q({ model, input, voice: "alloy" }))} \\\n  --output speech.mp3`,
        python: `${py}speech = client.audio.speech.create(model=${q(model)}, voice="alloy", input=${q(input)})\nspeech.write_to_file("speech.mp3")`,
        typescript: `import { writeFile } from "node:fs/promises";\n${ts}const speech = await client.audio.speech.create({ model: ${q(model)}, voice: "alloy", input: ${q(input)} });\nawait writeFile("speech.mp3", Buffer.from(await speech.arrayBuffer()));`,
      };
    }
    case "transcription":
      return {
        kind,
        curl: `${head("/audio/transcriptions", false)} \\\n  -F model=${sh(model)} \\\n  -F file=@speech.mp3`,
        python: `${py}with open("speech.mp3", "rb") as audio:\n    text = client.audio.transcriptions.create(model=${q(model)}, file=audio)\nprint(text.text)`,
        typescript: `import { createReadStream } from "node:fs";\n${ts}const text = await client.audio.transcriptions.create({ model: ${q(model)}, file: createReadStream("speech.mp3") });\nconsole.log(text.text);`,
      };
    default: {
      const content = "Say hello in five words.";
      const messages = [{ role: "user", content }];
      return {
        kind: "chat",
        curl: `${head("/chat/completions")} \\\n  -d ${sh(q({ model, messages }))}`,
        python: `${py}reply = client.chat.completions.create(\n    model=${q(model)},\n    messages=[{"role": "user", "content": ${q(content)}}],\n)\nprint(reply.choices[0].message.content)`,
        typescript: `${ts}const reply = await client.chat.completions.create({\n  model: ${q(model)},\n  messages: [{ role: "user", content: ${q(content)} }],\n});\nconsole.log(reply.choices[0]?.message.content);`,
      };
    }
  }
}
