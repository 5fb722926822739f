// Process specs for the gateway side of the stack: the fake upstream and the LiteLLM proxy with Tollgate's plugin.
import path from "node:path";
import type { ProcessSpec } from "./processes";

export function fakeUpstreamSpec(
  root: string,
  port: number,
  onLine?: (line: string) => void,
  env: Record<string, string> = {},
): ProcessSpec {
  return {
    name: "upstream",
    command: process.execPath,
    args: ["--import", "tsx", path.join(root, "scripts/fake-upstream.ts"), "--port", String(port)],
    env,
    ready: { url: `http://127.0.0.1:${port}/health`, timeoutMs: 30_000 },
    onLine,
  };
}

export interface LiteLLMOptions {
  root: string;
  port: number;
  platformUrl: string;
  gatewaySecret: string;
  webhookSecret: string;
  /** The durable usage outbox (SQLite file). */
  outboxPath: string;
  masterKey: string;
  upstreamUrl: string;
  /** Another config (benchmarks run a bare proxy without the plugin). */
  config?: string;
  env?: Record<string, string | undefined>;
  onLine?: (line: string) => void;
}

export function liteLLMSpec(o: LiteLLMOptions): ProcessSpec {
  const dir = path.join(o.root, "litellm");
  return {
    name: "litellm",
    command: path.join(dir, ".venv", "bin", "litellm"),
    args: [
      "--config",
      o.config ?? path.join(dir, "config.yaml"),
      "--host",
      "127.0.0.1",
      "--port",
      String(o.port),
      // Idle connections kept longer than clients keep theirs (litellm/Dockerfile says why).
      "--keepalive_timeout",
      "75",
    ],
    cwd: dir,
    env: {
      PYTHONPATH: dir,
      PYTHONUNBUFFERED: "1",
      LITELLM_LOCAL_MODEL_COST_MAP: "True",
      LITELLM_LOG: "ERROR",
      TOLLGATE_URL: o.platformUrl,
      TOLLGATE_GATEWAY_SECRET: o.gatewaySecret,
      TOLLGATE_WEBHOOK_SECRET: o.webhookSecret,
      TOLLGATE_OUTBOX_PATH: o.outboxPath,
      LITELLM_MASTER_KEY: o.masterKey,
      FAKE_UPSTREAM_URL: o.upstreamUrl,
      // A local stack is never production: owners' own base URLs may be private (as the platform allows outside
      // production), and the fake upstream stands in for the vendors' official APIs (README, Provider keys).
      TOLLGATE_BYOK_STRICT_HOSTS: "off",
      TOLLGATE_BYOK_TEST_OFFICIAL_BASES: o.upstreamUrl,
      // LiteLLM's DB mode needs binaries that cannot be installed here; Tollgate keeps keys and spend.
      DATABASE_URL: undefined,
      ...o.env,
    },
    ready: { url: `http://127.0.0.1:${o.port}/health/liveliness`, timeoutMs: 120_000 },
    onLine: o.onLine,
  };
}
