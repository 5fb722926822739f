// What the gateway benchmarks share: a developer on pay as you go with a large balance, and keys that spend from it;
// the gateway's config with Tollgate taken out, for the baselines.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createClient } from "@/lib/db/client";
import { createKey } from "@/lib/keys/create";
import { liteLLMSpec } from "@/scripts/stack/gateway";
import {
  startTestStack,
  TEST_GATEWAY_SECRET,
  TEST_KEY_PEPPER,
  TEST_MASTER_KEY,
  TEST_WEBHOOK_SECRET,
  type TestStack,
} from "@/tests/stack/start";

/**
 * The seeded developer, moved to pay as you go (the seeded plan's RPM and requests per day would refuse a benchmark's
 * load) and granted $1,000 through the ledger; `issue()` makes a key of theirs with no limits.
 */
export async function benchDeveloper(databaseUrl: string, grantKey: string) {
  const sql = createClient({ url: databaseUrl, max: 4 });
  const [dev] = await sql<{ id: string }[]>`select id from users where role = 'developer' limit 1`;
  await sql`update users set plan_id = null where id = ${dev!.id}`;
  await sql`
    with t as (insert into ledger_transactions (kind, idempotency_key, reason) values ('grant', ${grantKey}, 'bench') returning id),
    a as (select id from accounts where owner_user_id = ${dev!.id})
    insert into ledger_entries (transaction_id, account_id, amount_micros)
    select t.id, a.id, 1000000000 from t, a union all select t.id, (select id from accounts where code = 'grants'), -1000000000 from t`;
  await sql`update accounts set balance_micros = balance_micros + 1000000000 where owner_user_id = ${dev!.id}`;
  const issue = async () =>
    (
      await createKey(
        sql,
        { userId: null, kind: "system" },
        {
          userId: dev!.id,
          name: "bench",
          allowedModels: [],
          rpmLimit: null,
          tpmLimit: null,
          expiresAt: null,
        },
        { pepper: TEST_KEY_PEPPER },
      )
    ).secret;
  return { issue, end: () => sql.end() };
}

/**
 * The gateway's own config.yaml with Tollgate taken out, so a comparison differs by Tollgate alone (same models,
 * same router settings): "bare" drops the plugin entirely (custom auth and billing callbacks; calls use the master
 * key), "auth-only" keeps Tollgate's custom auth (and with it the gate) but not the billing callbacks.
 */
export function derivedConfig(root: string, kind: "bare" | "auth-only"): string {
  const source = readFileSync(path.join(root, "litellm/config.yaml"), "utf8");
  let text = source.replace(/^\s*callbacks: \[tollgate_callbacks\.handler\]\n/m, "");
  if (kind === "bare")
    text = text
      .replace(/^\s*custom_auth: .*\n/m, "")
      .replace(/^\s*custom_auth_run_common_checks: .*\n/m, "")
      .replace(/^\s*enable_post_custom_auth_checks: .*\n/m, "");
  if (text === source || (kind === "bare" && /tollgate_/.test(text.replace(/^\s*#.*$/gm, ""))))
    throw new Error("litellm/config.yaml changed shape: derivedConfig no longer takes Tollgate out");
  const file = path.join(root, `litellm/.config.${kind}.yaml`);
  writeFileSync(file, text);
  return file;
}

/**
 * Another revision's gateway files (litellm/ and the billing contract) in a temporary root sharing this checkout's
 * venv: what the plugin was before a change, run beside it.
 */
export function checkoutOf(root: string, revision: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tollgate-before-"));
  execFileSync("sh", [
    "-c",
    `git archive ${JSON.stringify(revision)} litellm lib/billing | tar -x -C ${JSON.stringify(dir)}`,
  ]);
  symlinkSync(path.join(root, "litellm/.venv"), path.join(dir, "litellm/.venv"));
  return dir;
}

/** The pid listening on a TCP port (the uvicorn process LiteLLM runs in, with one worker). */
export function pidOnPort(port: number): number {
  const out = execFileSync("ss", ["-Hltnp", `sport = :${port}`], { encoding: "utf8" });
  const pid = /pid=(\d+)/.exec(out)?.[1];
  if (!pid) throw new Error(`nothing listens on port ${port}`);
  return Number(pid);
}

/**
 * A gateway process's capacity is its own core's: with BENCH_PIN (default on with 2 or more CPUs) the benchmark and
 * everything it starts (load generator, fake upstream, platform, PostgreSQL) run on CPU 0 and each LiteLLM process on
 * CPU 1, so the platform's work (in production on Vercel and Supabase) does not take the gateway's CPU. Call
 * pinBenchmark() before starting anything and pinGateways(ports) once they listen.
 */
export const PIN = process.env.BENCH_PIN ? process.env.BENCH_PIN !== "0" : os.availableParallelism() >= 2;

export function pinBenchmark(): void {
  if (PIN) execFileSync("taskset", ["-a", "-p", "-c", "0", String(process.pid)], { stdio: "ignore" });
}

export function pinGateways(ports: number[]): void {
  if (!PIN) return;
  for (const port of ports)
    execFileSync("taskset", ["-a", "-p", "-c", "1", String(pidOnPort(port))], { stdio: "ignore" });
}

/**
 * Another LiteLLM process beside the test stack's, against the same platform and fake upstream: `config` (default the
 * gateway's own), from `from` (default this checkout; an older revision from checkoutOf), with its own outbox.
 */
export function benchGateway(
  stack: TestStack,
  o: { root: string; port: number; config?: string; from?: string; env?: Record<string, string> },
) {
  return liteLLMSpec({
    root: o.from ?? o.root,
    port: o.port,
    platformUrl: stack.appUrl,
    gatewaySecret: TEST_GATEWAY_SECRET,
    webhookSecret: TEST_WEBHOOK_SECRET,
    outboxPath: path.join(o.root, `.data/outbox-bench-${o.port}-${Date.now()}.db`),
    masterKey: TEST_MASTER_KEY,
    upstreamUrl: stack.upstreamUrl!,
    config: o.config,
    env: { TOLLGATE_AUTH_CACHE_TTL: "5", ...o.env },
  });
}

/**
 * The test stack a gateway benchmark runs against (PostgreSQL, the platform, the fake upstream answering at once, and
 * LiteLLM + Tollgate on `litellm`), with progress on stdout.
 */
export async function startBenchStack(
  name: string,
  ports: { app: number; pg: number; litellm: number; upstream: number },
): Promise<TestStack> {
  process.stdout.write("▸ starting PostgreSQL, the platform, the fake upstream and LiteLLM + plugin… ");
  const stack = await startTestStack({
    name,
    appPort: ports.app,
    pgPort: ports.pg,
    gateway: { litellm: ports.litellm, upstream: ports.upstream, authCacheTtl: 5 },
    upstreamEnv: { FAKE_TTFT_MS: "0", FAKE_TPS: "0" },
  });
  console.log("ready");
  return stack;
}

/** The call every gateway benchmark makes: non-streaming `fake-small`, 4 output tokens. */
const PING = JSON.stringify({
  model: "fake-small",
  messages: [{ role: "user", content: "ping" }],
  max_tokens: 4,
});

/** One chat call through a gateway (`url` ends in /v1): its HTTP status. Node's fetch keeps connections alive, as an
 * app's HTTP client would. */
export async function pingStatus(url: string, key: string, timeoutMs?: number): Promise<number> {
  const res = await fetch(`${url}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: PING,
    signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
  });
  await res.arrayBuffer();
  return res.status;
}

/** The same, true when it answered 2xx. */
export async function ping(url: string, key: string, timeoutMs?: number): Promise<boolean> {
  const status = await pingStatus(url, key, timeoutMs);
  return status >= 200 && status < 300;
}
