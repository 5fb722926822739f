// Starts what browser and gateway tests run against: real PostgreSQL, migrated and seeded, and the built app
// under `next start`. Later parts of the stack (fake upstream, LiteLLM) join here.
import { existsSync } from "node:fs";
import path from "node:path";
import { createClient } from "@/lib/db/client";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { migrate } from "@/lib/db/migrate";
import { type DemoCredentials, seedDemo } from "@/lib/seed/demo";
import { fakeUpstreamSpec, liteLLMSpec } from "@/scripts/stack/gateway";
import { ProcessGroup } from "@/scripts/stack/processes";

export interface TestStack {
  appUrl: string;
  /** Set when started with a gateway: LiteLLM's OpenAI-compatible base URL (…/v1). */
  gatewayUrl?: string;
  upstreamUrl?: string;
  /** The gateway's durable outbox (SQLite), when started with a gateway. */
  outboxPath?: string;
  databaseUrl: string;
  credentials: DemoCredentials;
  /** The app's environment (its settings and secrets), for a test process that calls the app's domain verbs itself. */
  appEnv: Record<string, string>;
  /** Takes the control plane down (the gateway keeps running) and brings it back. */
  stopApp: () => Promise<void>;
  startApp: () => Promise<void>;
  stop: () => Promise<void>;
}

export const TEST_SESSION_SECRET = "e2e-session-secret-0123456789abcdef0123456789";
export const TEST_GATEWAY_SECRET = "e2e-gateway-secret-0123456789abcdef0123456789";
export const TEST_KEY_PEPPER = "e2e-key-pepper-0123456789abcdef0123456789abcd";
export const TEST_MASTER_KEY = "sk-e2e-master-key-0123456789abcdef";
export const TEST_WEBHOOK_SECRET = "e2e-webhook-secret-0123456789abcdef0123456789";
export const TEST_CRON_SECRET = "e2e-cron-secret-0123456789abcdef0123456789abc";

export interface GatewayPorts {
  litellm: number;
  upstream: number;
  /** The plugin's auth cache TTL in seconds (tests shorten it). */
  authCacheTtl?: number;
  /** Extra environment for LiteLLM (e.g. REDIS_HOST to share rate-limit counters). */
  env?: Record<string, string>;
}

export async function startTestStack({
  name,
  appPort,
  pgPort,
  gateway,
  upstreamEnv,
  appEnv,
  log = () => {},
}: {
  name: string;
  appPort: number;
  pgPort: number;
  gateway?: GatewayPorts;
  /** Extra environment for the fake upstream (benchmarks turn its latency off). */
  upstreamEnv?: Record<string, string>;
  /** Extra environment for the control plane. */
  appEnv?: Record<string, string>;
  log?: (line: string) => void;
}): Promise<TestStack> {
  const root = process.cwd();
  // NEXT_DIST_DIR (next.config.ts) names another build directory; `next start` below inherits it.
  if (!existsSync(path.join(root, process.env.NEXT_DIST_DIR || ".next", "BUILD_ID"))) {
    throw new Error("No production build: run `npx next build` first (npm test does).");
  }
  let adminUrl = process.env.TEST_DATABASE_URL;
  let stopPg: (() => Promise<void>) | undefined;
  if (!adminUrl) {
    const pg = await startEmbeddedPostgres({
      dir: path.join(root, `.data/pg-${name}`),
      port: pgPort,
      fast: true,
    });
    adminUrl = pg.url();
    stopPg = pg.stop;
  }
  const database = `tollgate_${name.replace(/\W/g, "_")}`;
  const admin = createClient({ url: adminUrl, max: 1 });
  await admin`drop database if exists ${admin(database)} with (force)`;
  await admin`create database ${admin(database)}`;
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const databaseUrl = url.toString();
  const sql = createClient({ url: databaseUrl, max: 2 });
  await migrate(sql);
  const { created: _created, ...credentials } = await seedDemo(sql, undefined, { pepper: TEST_KEY_PEPPER });
  await sql.end();

  const group = new ProcessGroup();
  const outboxPath = path.join(root, `.data/outbox-${name}-${Date.now()}.db`);
  const appUrl = `http://127.0.0.1:${appPort}`;
  const appSpec = {
    name: "app",
    command: process.execPath,
    args: [
      path.join(root, "node_modules/next/dist/bin/next"),
      "start",
      "--port",
      String(appPort),
      "--hostname",
      "127.0.0.1",
    ],
    env: {
      NODE_ENV: "production",
      DATABASE_URL: databaseUrl,
      SESSION_SECRET: TEST_SESSION_SECRET,
      GATEWAY_SECRET: TEST_GATEWAY_SECRET,
      KEY_PEPPER: TEST_KEY_PEPPER,
      WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      CRON_SECRET: TEST_CRON_SECRET,
      APP_URL: appUrl,
      LOG_LEVEL: "warn",
      LITELLM_MASTER_KEY: TEST_MASTER_KEY,
      ...(gateway ? { LITELLM_URL: `http://127.0.0.1:${gateway.litellm}` } : {}),
      NEXT_TELEMETRY_DISABLED: "1",
      ...appEnv,
    },
    ready: { url: `${appUrl}/api/health`, timeoutMs: 60_000 },
    onLine: (line: string) => log(`[app] ${line}`),
  };
  try {
    await group.start(appSpec);
    if (gateway) {
      await group.start(
        fakeUpstreamSpec(root, gateway.upstream, (line) => log(`[upstream] ${line}`), upstreamEnv),
      );
      await group.start(
        liteLLMSpec({
          root,
          port: gateway.litellm,
          platformUrl: appUrl,
          gatewaySecret: TEST_GATEWAY_SECRET,
          webhookSecret: TEST_WEBHOOK_SECRET,
          outboxPath,
          masterKey: TEST_MASTER_KEY,
          upstreamUrl: `http://127.0.0.1:${gateway.upstream}/v1`,
          env: { TOLLGATE_AUTH_CACHE_TTL: String(gateway.authCacheTtl ?? 5), ...gateway.env },
          onLine: (line) => log(`[litellm] ${line}`),
        }),
      );
    }
  } catch (error) {
    await group.stop();
    await stopPg?.();
    throw error;
  }
  return {
    appUrl,
    gatewayUrl: gateway ? `http://127.0.0.1:${gateway.litellm}/v1` : undefined,
    upstreamUrl: gateway ? `http://127.0.0.1:${gateway.upstream}/v1` : undefined,
    outboxPath: gateway ? outboxPath : undefined,
    databaseUrl,
    credentials,
    appEnv: appSpec.env as Record<string, string>,
    stopApp: () => group.stopProcess("app"),
    startApp: async () => {
      await group.start(appSpec);
    },
    stop: async () => {
      await group.stop();
      await stopPg?.();
    },
  };
}
