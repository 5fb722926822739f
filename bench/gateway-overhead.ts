// bench/gateway-overhead: what Tollgate's auth adds to a call through LiteLLM.
//
// Same requests, same fixed rate, four paths: straight to the fake upstream; bare LiteLLM (master key, no
// plugin); LiteLLM + Tollgate auth with a warm cache (one key); and with a cold cache (a new key per request,
// so every request asks the platform). The upstream answers with no artificial latency, so what is measured
// is the proxy path itself. Prints p50/p95/p99 and ratios; rewrites its section of docs/benchmarks.md.
//
//   npm run bench:gateway            (BENCH_REQUESTS, BENCH_RATE to change the load)
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createClient } from "@/lib/db/client";
import { createKey } from "@/lib/keys/create";
import { liteLLMSpec } from "@/scripts/stack/gateway";
import { ProcessGroup } from "@/scripts/stack/processes";
import {
  startTestStack,
  TEST_GATEWAY_SECRET,
  TEST_KEY_PEPPER,
  TEST_MASTER_KEY,
  TEST_WEBHOOK_SECRET,
} from "@/tests/stack/start";
import { f1, f2, machine, openLoop, type Summary, summarize, writeSection } from "./lib";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const RATE = Number(process.env.BENCH_RATE ?? 40);
const root = process.cwd();
const body = JSON.stringify({
  model: "fake-small",
  messages: [{ role: "user", content: "ping" }],
  max_tokens: 4,
});

async function post(url: string, key: string): Promise<boolean> {
  // Node's fetch keeps connections alive, as an app's HTTP client would.
  const res = await fetch(`${url}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body,
  });
  await res.arrayBuffer();
  return res.ok;
}

async function measure(label: string, url: string, keyFor: (i: number) => string): Promise<Summary> {
  process.stdout.write(`▸ ${label}: warm-up… `);
  for (let i = 0; i < 20; i++) await post(url, keyFor(-1 - i)).catch(() => false);
  process.stdout.write(`${REQUESTS} requests at ${RATE}/s… `);
  const summary = summarize(await openLoop(REQUESTS, RATE, (i) => post(url, keyFor(i))));
  console.log(
    `p50 ${f1(summary.p50)} ms, p95 ${f1(summary.p95)} ms, p99 ${f1(summary.p99)} ms, errors ${summary.errors}`,
  );
  return summary;
}

async function main() {
  console.log(`Tollgate gateway overhead — ${machine()}`);
  process.stdout.write("▸ starting PostgreSQL, the platform, the fake upstream and LiteLLM + plugin… ");
  const stack = await startTestStack({
    name: "bench-gateway",
    appPort: 3300,
    pgPort: 54333,
    gateway: { litellm: 4200, upstream: 4210, authCacheTtl: 5 },
    upstreamEnv: { FAKE_TTFT_MS: "0", FAKE_TPS: "0" },
  });
  console.log("ready");
  const bare = new ProcessGroup();
  try {
    // The same gateway with Tollgate's auth but without the billing hooks, to separate the two costs.
    const authOnly = path.join(root, "litellm/.config.auth-only.yaml");
    writeFileSync(
      authOnly,
      readFileSync(path.join(root, "litellm/config.yaml"), "utf8").replace(
        /^\s*callbacks: tollgate_callbacks\.handler\n/m,
        "",
      ),
    );
    process.stdout.write("▸ starting LiteLLM with Tollgate auth only (no billing hooks)… ");
    await bare.start(
      liteLLMSpec({
        root,
        port: 4202,
        platformUrl: stack.appUrl,
        gatewaySecret: TEST_GATEWAY_SECRET,
        webhookSecret: TEST_WEBHOOK_SECRET,
        outboxPath: path.join(root, ".data/outbox-bench-auth.db"),
        masterKey: TEST_MASTER_KEY,
        upstreamUrl: stack.upstreamUrl!,
        config: authOnly,
        env: { TOLLGATE_AUTH_CACHE_TTL: "5" },
      }),
    );
    console.log("ready");
    process.stdout.write("▸ starting bare LiteLLM (no plugin)… ");
    await bare.start(
      liteLLMSpec({
        root,
        port: 4201,
        platformUrl: stack.appUrl,
        gatewaySecret: TEST_GATEWAY_SECRET,
        webhookSecret: TEST_WEBHOOK_SECRET,
        outboxPath: path.join(root, ".data/outbox-bench-bare.db"),
        masterKey: TEST_MASTER_KEY,
        upstreamUrl: stack.upstreamUrl!,
        config: path.join(root, "bench/litellm-bare.yaml"),
      }),
    );
    console.log("ready");

    const sql = createClient({ url: stack.databaseUrl, max: 4 });
    const [dev] = await sql<{ id: string }[]>`select id from users where role = 'developer' limit 1`;
    // Pay as you go: the seeded plan's RPM and requests per day would refuse a benchmark's load.
    await sql`update users set plan_id = null where id = ${dev!.id}`;
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
    const warmKey = await issue();
    process.stdout.write(`▸ issuing ${REQUESTS + 20} keys for the cold-cache run… `);
    const coldKeys: string[] = [];
    for (let i = 0; i < REQUESTS + 20; i++) coldKeys.push(await issue());
    // Enough balance for every billed request of the run.
    await sql`
      with t as (insert into ledger_transactions (kind, idempotency_key, reason) values ('grant', 'bench-gateway', 'bench') returning id),
      a as (select id from accounts where owner_user_id = ${dev!.id})
      insert into ledger_entries (transaction_id, account_id, amount_micros)
      select t.id, a.id, 1000000000 from t, a union all select t.id, (select id from accounts where code = 'grants'), -1000000000 from t`;
    await sql`update accounts set balance_micros = balance_micros + 1000000000 where owner_user_id = ${dev!.id}`;
    console.log("done");
    await sql.end();

    const upstream = await measure("fake upstream (direct)", stack.upstreamUrl!, () => "none");
    const bareRun = await measure(
      "bare LiteLLM (master key, no plugin)",
      "http://127.0.0.1:4201/v1",
      () => TEST_MASTER_KEY,
    );
    const auth = "http://127.0.0.1:4202/v1";
    const warm = await measure("LiteLLM + Tollgate auth only, warm cache", auth, () => warmKey);
    const cold = await measure(
      "LiteLLM + Tollgate auth only, cold cache",
      auth,
      (i) => coldKeys[i < 0 ? REQUESTS - 1 - i : i]!,
    );
    const billed = await measure("LiteLLM + Tollgate auth + billing", stack.gatewayUrl!, () => warmKey);

    const rows: [string, Summary][] = [
      ["fake upstream, direct", upstream],
      ["bare LiteLLM (master key, no plugin)", bareRun],
      ["LiteLLM + Tollgate auth, warm cache", warm],
      ["LiteLLM + Tollgate auth, cold cache (platform asked every request)", cold],
      ["LiteLLM + Tollgate auth (warm) + billing: a hold before, an outbox event after", billed],
    ];
    const added = (s: Summary, p: "p50" | "p95" | "p99") => s[p] - bareRun[p];
    const table = [
      "| path | p50 ms | p95 ms | p99 ms | errors | p50 ÷ bare |",
      "|---|---:|---:|---:|---:|---:|",
      ...rows.map(
        ([name, s]) =>
          `| ${name} | ${f1(s.p50)} | ${f1(s.p95)} | ${f1(s.p99)} | ${s.errors}/${s.n} | ${f2(s.p50 / bareRun.p50)} |`,
      ),
    ].join("\n");
    const verdict = added(warm, "p50") <= 2 ? "met" : "not met";
    const md = `## Gateway overhead (bench/gateway-overhead.ts)

Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine()}. ${REQUESTS} requests per path at a fixed
${RATE} req/s (open loop), non-streaming \`fake-small\`, 4 output tokens, upstream with no artificial latency.
LiteLLM 1.102.4 with one uvicorn worker; the platform is \`next start\` on embedded PostgreSQL, all on one machine.

${table}

- Tollgate auth, warm cache: **+${f1(added(warm, "p50"))} ms p50** over bare LiteLLM (+${f1(added(warm, "p95"))} ms p95, +${f1(added(warm, "p99"))} ms p99). Target ≤ 2 ms p50: **${verdict}**.
- Cold cache (every request verified by the platform over HTTP + one indexed Postgres lookup): +${f1(added(cold, "p50"))} ms p50, +${f1(added(cold, "p99"))} ms p99.
- With billing (the pre-call hold is an HTTP call to the platform and one \`place_hold\` statement; the usage
  event goes to the SQLite outbox and is delivered in the background): +${f1(added(billed, "p50"))} ms p50, +${f1(added(billed, "p99"))} ms p99 over bare LiteLLM.
- LiteLLM itself adds ${f1(bareRun.p50 - upstream.p50)} ms p50 over calling the upstream directly.
`;
    writeSection("gateway-overhead", md);
    console.log(
      `\n${table}\n\nwarm-cache auth adds ${f1(added(warm, "p50"))} ms p50 (target ≤ 2 ms: ${verdict}); written to docs/benchmarks.md`,
    );
  } finally {
    await bare.stop();
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
