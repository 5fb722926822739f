// The gateway as it ships. Its image, without Docker: a directory assembled from litellm/Dockerfile's own COPY, ENV,
// WORKDIR and CMD lines (tests/helpers/dockerfile.ts), run by the repository's venv as the image's CMD runs it (two
// uvicorn workers), makes a billed call; a file the plugin needs that the Dockerfile does not copy fails it. Its
// retry policy: a failing call of every kind reaches the provider exactly router_settings.num_retries + 1 times.

import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODELS } from "@/lib/seed/demo";
import { liteLLMSpec } from "@/scripts/stack/gateway";
import { ProcessGroup, waitFor } from "@/scripts/stack/processes";
import { wav } from "../helpers/audio";
import { type AssembledImage, assembleImage } from "../helpers/dockerfile";
import { priceTokens } from "../helpers/price";
import { TEST_GATEWAY_SECRET, TEST_MASTER_KEY, TEST_WEBHOOK_SECRET } from "../stack/start";
import { addTestModels, customer, failure, settledBalance, startGatewayStack, usageRowsOf } from "./helpers";

const NAME = "gateway-container";
const ctx = startGatewayStack(NAME, { app: 3220, pg: 25460, litellm: 4140, upstream: 4150 }, undefined, {
  TOLLGATE_LEASE_IDLE_SECONDS: "1",
});
const IMAGE_PORT = 4141;
const root = process.cwd();
const SMALL_PRICE = DEMO_MODELS.find((m) => m.name === "fake-small")!.price;
const messages = [{ role: "user" as const, content: "Is the image metered?" }];

beforeAll(async () => {
  await addTestModels(ctx, [
    "fake-error-500",
    "fake-embed-error",
    "fake-image-error",
    "fake-tts-error",
    "fake-whisper-error",
    "fake-instruct-error",
  ]);
});

describe("the image litellm/Dockerfile builds", () => {
  const image = new ProcessGroup();
  const lines: string[] = [];
  let assembled: AssembledImage;
  beforeAll(async () => {
    // Outside the repository: the plugin looks for lib/billing/contract.json in every folder above it, and must find
    // only the copy the Dockerfile made.
    assembled = assembleImage(
      root,
      path.join(root, "litellm/Dockerfile"),
      mkdtempSync(path.join(os.tmpdir(), "tollgate-image-")),
    );
    const [program, ...args] = assembled.cmd;
    expect(program).toBe("litellm");
    // The image listens on every interface of its container on 4000; here, loopback on a test port.
    const at = (flag: string) => args.indexOf(flag) + 1;
    expect(at("--port")).toBeGreaterThan(0);
    args[at("--port")] = String(IMAGE_PORT);
    if (at("--host") > 0) args[at("--host")] = "127.0.0.1";
    // The stack's gateway process spec (the venv's litellm, the platform, the fake upstream, the secrets), with the
    // image's own arguments, working directory and environment instead of the repository's.
    const spec = liteLLMSpec({
      root,
      port: IMAGE_PORT,
      platformUrl: ctx.stack.appUrl,
      gatewaySecret: TEST_GATEWAY_SECRET,
      webhookSecret: TEST_WEBHOOK_SECRET,
      outboxPath: "",
      masterKey: TEST_MASTER_KEY,
      upstreamUrl: ctx.stack.upstreamUrl!,
      env: { TOLLGATE_LEASE_IDLE_SECONDS: "1" },
      onLine: (line) => {
        lines.push(line);
        appendFileSync(`test-results/gateway/${NAME}.log`, `[image] ${line}\n`);
      },
    });
    await image.start({
      ...spec,
      name: "image",
      args,
      cwd: assembled.workdir,
      // Nothing from the repository on Python's path, and the outbox where the image keeps it (next to the plugin).
      env: { ...spec.env, PYTHONPATH: undefined, TOLLGATE_OUTBOX_PATH: undefined, ...assembled.env },
    });
  });
  afterAll(async () => {
    await image.stop();
    if (assembled) rmSync(assembled.root, { recursive: true, force: true });
  });

  it("copies what config.yaml loads: the auth hook, the billing callbacks, the plugin and the billing contract", () => {
    for (const file of [
      "config.yaml",
      "tollgate_auth.py",
      "tollgate_callbacks.py",
      "tollgate_litellm/billing.py",
      "lib/billing/contract.json",
    ])
      expect(existsSync(path.join(assembled.workdir, file)), file).toBe(true);
    expect(readFileSync(path.join(assembled.workdir, "lib/billing/contract.json"), "utf8")).toBe(
      readFileSync(path.join(root, "lib/billing/contract.json"), "utf8"),
    );
    expect(assembled.env.PYTHONPATH).toBe(assembled.workdir);
  });

  it("runs its CMD's uvicorn workers, each billing the calls it serves: usage rows, the balance moved by them", async () => {
    const workers = Number(assembled.cmd[assembled.cmd.indexOf("--num_workers") + 1]);
    expect(workers).toBeGreaterThan(1);
    // uvicorn logs each worker it starts and each it finds dead (it restarts those).
    const started = () =>
      new Set(lines.flatMap((l) => l.match(/Started server process \[(\d+)\]/)?.[1] ?? []));
    await waitFor(
      async () => lines.filter((l) => l.includes("Application startup complete")).length >= workers,
      120_000,
      "the image's workers",
    );
    expect(started().size).toBe(workers);
    expect(lines.filter((l) => /Child process \[\d+\] died/.test(l))).toEqual([]);
    const c = await customer(ctx, 1_000_000n);
    // A lease is one process's: leases from as many processes as workers means each served some of the calls.
    const processes = async () =>
      (
        await ctx.sql<{ n: number }[]>`
          select count(distinct process_id)::int as n from leases where key_id = ${c.id}`
      )[0]!.n;
    // New connections each round: the workers share the listening socket, and each takes some of them.
    let charged = 0n;
    let calls = 0;
    for (let round = 0; round < 20; round++) {
      const client = new OpenAI({
        baseURL: `http://127.0.0.1:${IMAGE_PORT}/v1`,
        apiKey: c.secret,
        maxRetries: 0,
        timeout: 20_000,
      });
      const done = await Promise.all(
        Array.from({ length: 4 }, () =>
          client.chat.completions.create({ model: "fake-small", messages, max_tokens: 24 }),
        ),
      );
      for (const d of done)
        charged += priceTokens(
          { input: d.usage!.prompt_tokens, output: d.usage!.completion_tokens },
          SMALL_PRICE,
        );
      calls += done.length;
      if ((await processes()) >= workers) break;
    }
    expect(await processes()).toBe(workers);
    const rows = await usageRowsOf(ctx, c.id, calls);
    expect(rows).toHaveLength(calls);
    expect(rows.every((r) => r.model_group === "fake-small" && r.billing_status === "exact")).toBe(true);
    expect(rows.reduce((sum, r) => sum + r.revenue_micros, 0n)).toBe(charged);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - charged,
      held_micros: 0n,
    });
  });
});

describe("one retry policy", () => {
  // config.yaml's router_settings.num_retries: the first attempt and that many retries, whatever the call's kind.
  const numRetries = Number(
    /^router_settings:[\s\S]*?^\s+num_retries:\s*(\d+)/m.exec(
      readFileSync(path.join(root, "litellm/config.yaml"), "utf8"),
    )![1],
  );
  const attemptsAt = async () =>
    (
      (await (await fetch(`${ctx.stack.upstreamUrl!.replace(/\/v1$/, "")}/stats`)).json()) as {
        attempts: Record<string, Record<string, number>>;
      }
    ).attempts;
  const anthropic = (apiKey: string) =>
    new Anthropic({ baseURL: ctx.stack.gatewayUrl!.replace(/\/v1$/, ""), apiKey, maxRetries: 0 });
  const kinds: [string, string, (client: OpenAI, key: string) => Promise<unknown>][] = [
    [
      "chat",
      "fake-error-500",
      (client) => client.chat.completions.create({ model: "fake-error-500", messages, max_tokens: 8 }),
    ],
    [
      "completions",
      "fake-instruct-error",
      (client) => client.completions.create({ model: "fake-instruct-error", prompt: "x", max_tokens: 4 }),
    ],
    [
      "embeddings",
      "fake-embed-error",
      (client) => client.embeddings.create({ model: "fake-embed-error", input: "x" }),
    ],
    [
      "images",
      "fake-image-error",
      (client) => client.images.generate({ model: "fake-image-error", prompt: "x" }),
    ],
    [
      "speech",
      "fake-tts-error",
      (client) => client.audio.speech.create({ model: "fake-tts-error", voice: "alloy", input: "x" }),
    ],
    [
      "transcription",
      "fake-whisper-error",
      async (client) =>
        client.audio.transcriptions.create({
          model: "fake-whisper-error",
          file: await toFile(wav(1), "a.wav", { type: "audio/wav" }),
        }),
    ],
    [
      "responses",
      "fake-error-500",
      (client) => client.responses.create({ model: "fake-error-500", input: "x", max_output_tokens: 16 }),
    ],
    [
      "messages",
      "fake-error-500",
      (_client, key) => anthropic(key).messages.create({ model: "fake-error-500", max_tokens: 8, messages }),
    ],
  ];

  it.each(kinds)(
    "a failing %s call reaches the upstream exactly num_retries + 1 times",
    async (kind, model, call) => {
      const c = await customer(ctx, 1_000_000n);
      const before = await attemptsAt();
      const error = await failure(call(c.client, c.secret)).catch((e: unknown) => ({
        status: (e as { status?: number }).status ?? 0,
        message: String(e),
      }));
      const after = await attemptsAt();
      const seen = Object.entries(after).flatMap(([route, models]) => {
        const n = (models[model] ?? 0) - (before[route]?.[model] ?? 0);
        return n ? [`${route} ×${n}`] : [];
      });
      console.log(`${kind} (${model}): ${seen.join(", ")}; the app got ${error?.status}`);
      expect(error?.status).toBeGreaterThanOrEqual(500);
      const total = Object.values(after).reduce(
        (n, models) => n + (models[model] ?? 0),
        -Object.values(before).reduce((n, models) => n + (models[model] ?? 0), 0),
      );
      expect(total).toBe(numRetries + 1);
    },
  );
});
