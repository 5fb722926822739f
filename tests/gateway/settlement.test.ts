// A day of traffic through the real gateway with webhooks lost on purpose, a stream cut by its client and
// duplicate deliveries; then the settlement (cron routes, real replay from the gateway's outbox) makes every
// hold end settled or released, names each repair, keeps the books, and changes nothing when run again.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { TEST_CRON_SECRET } from "../stack/start";
import { MASTER_KEY, startGatewayStack } from "./helpers";

const ctx = startGatewayStack(
  "gateway-settlement",
  { app: 3202, pg: 25435, litellm: 4103, upstream: 4113 },
  { SETTLEMENT_GRACE_MINUTES: "1", SETTLEMENT_STALE_HOLD_POLICY: "release" },
);
const messages = [{ role: "user" as const, content: "settle this" }];
const python = path.join(process.cwd(), "litellm/.venv/bin/python");

/** Runs SQL on the gateway's outbox file, as an operator would with sqlite3. */
function outbox(statement: string, params: string[] = []): void {
  execFileSync(python, [
    "-c",
    "import sqlite3, sys, json; db = sqlite3.connect(sys.argv[1]); db.execute(sys.argv[2], json.loads(sys.argv[3])); db.commit()",
    ctx.stack.outboxPath!,
    statement,
    JSON.stringify(params),
  ]);
}

async function gateway(pathname: string, method = "GET") {
  const res = await fetch(`${ctx.stack.gatewayUrl!.replace(/\/v1$/, "")}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${MASTER_KEY}` },
  });
  return res.json() as Promise<{ pending: number; total: number; delivered: number }>;
}

async function cron(pathname: string) {
  const res = await fetch(`${ctx.stack.appUrl}${pathname}`, {
    headers: { authorization: `Bearer ${TEST_CRON_SECRET}` },
  });
  return { status: res.status, body: await res.json() };
}

/** Settles `yesterday` (UTC), the day the test's traffic is moved to: only an ended day is settled. */
async function settleYesterday(yesterday: string) {
  const started = await cron(`/api/cron/settle?day=${yesterday}`);
  expect(started.status).toBe(201);
  for (let i = 0; i < 10; i++) {
    await cron("/api/cron/drain");
    const [run] = await ctx.sql`select status from settlement_runs where id = ${started.body.runId}`;
    if (run!.status === "completed") break;
  }
  return started.body.runId as string;
}

describe("settlement through the gateway", () => {
  it("repairs lost webhooks from the outbox, settles cut streams, ignores duplicates; a second run changes nothing", async () => {
    const { id: keyId, secret } = await ctx.issueKey({ name: "settlement" });
    const client = ctx.client(secret);

    // 1. Delivery paused: six calls whose events wait in the outbox.
    await gateway("/tollgate/outbox/pause", "POST");
    const calls: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { response } = await client.chat.completions
        .create({ model: "fake-small", messages, max_tokens: 10 })
        .withResponse();
      calls.push(response.headers.get("x-litellm-call-id")!);
    }
    // 2. A stream cut by its client after the first chunk.
    const abort = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "fake-slow", messages, stream: true, max_tokens: 30 },
      { signal: abort.signal },
    );
    try {
      for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) abort.abort();
    } catch {
      // the client's own abort
    }
    // 3. Two of the six webhooks are "lost": the gateway believes it delivered them, the platform never saw them.
    const lost = calls.slice(0, 2);
    outbox(`update events set delivered_at = 1 where call_id in (?, ?)`, lost);
    await gateway("/tollgate/outbox/resume", "POST");

    const deadline = Date.now() + 20_000;
    let rows: { call_id: string; billing_status: string }[] = [];
    while (Date.now() < deadline) {
      rows =
        await ctx.sql`select call_id, billing_status(status) as billing_status from usage_events where key_id = ${keyId}`;
      if (rows.length >= 5 && (await gateway("/tollgate/outbox/stats")).pending === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(rows.map((r) => r.call_id).sort()).toEqual(
      [...calls.slice(2), ...rows.filter((r) => !calls.includes(r.call_id)).map((r) => r.call_id)].sort(),
    );
    expect(rows.filter((r) => r.billing_status === "estimated")).toHaveLength(1); // the cut stream
    // 4. Duplicates: the outbox delivers the four delivered calls again.
    outbox(
      `update events set delivered_at = null, next_attempt_at = 0 where call_id in (?, ?, ?, ?)`,
      calls.slice(2),
    );
    const dupDeadline = Date.now() + 10_000;
    while ((await gateway("/tollgate/outbox/stats")).pending > 0 && Date.now() < dupDeadline)
      await new Promise((r) => setTimeout(r, 100));
    const [{ n: afterDuplicates }] =
      (await ctx.sql`select count(*)::int as n from usage_events where key_id = ${keyId}`) as never as [
        { n: number },
      ];
    expect(afterDuplicates).toBe(5);
    const openBefore =
      await ctx.sql`select call_id from holds where key_id = ${keyId} and status = 'open' order by call_id`;
    expect(openBefore.map((h) => h.call_id)).toEqual([...lost].sort());

    // 5. Settlement of the day, once it has ended (the traffic is moved to 23:00 UTC yesterday, well past the
    // grace period): the lost events come back from the gateway's outbox.
    // "Yesterday" is read once: a run crossing midnight settles the day its traffic was moved to.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const lateYesterday = `${yesterday}T23:00:00Z`;
    await ctx.sql`update holds set created_at = ${lateYesterday} where key_id = ${keyId}`;
    await ctx.sql`update usage_events set started_at = ${lateYesterday}, ended_at = ${lateYesterday} where key_id = ${keyId}`;
    const runId = await settleYesterday(yesterday);
    const holds = await ctx.sql`select call_id, status from holds where key_id = ${keyId}`;
    expect(holds.every((h) => h.status !== "open")).toBe(true);
    expect(holds).toHaveLength(7);
    const variances =
      await ctx.sql`select kind, call_id from settlement_variances where run_id = ${runId} and key_id = ${keyId} order by call_id`;
    expect(variances.map((v) => [v.kind, v.call_id])).toEqual(
      [...lost].sort().map((c) => ["replayed_event", c]),
    );
    const [run] =
      await ctx.sql`select status, holds_replayed, invariant_violations from settlement_runs where id = ${runId}`;
    expect(run).toMatchObject({ status: "completed", holds_replayed: 2, invariant_violations: 0 });
    const charged =
      await ctx.sql`select count(*)::int as n from usage_events where key_id = ${keyId} and billing_status(status) = 'exact'`;
    expect(charged[0]!.n).toBe(6);
    expect(await checkLedgerInvariants(ctx.sql)).toEqual([]);

    // 6. A second run changes nothing.
    const balances = await ctx.sql`select id, balance_micros, held_micros from accounts order by id`;
    const second = await settleYesterday(yesterday);
    expect(await ctx.sql`select id, balance_micros, held_micros from accounts order by id`).toEqual(balances);
    const [run2] =
      await ctx.sql`select holds_replayed, holds_released, holds_estimated from settlement_runs where id = ${second}`;
    expect(run2).toEqual({ holds_replayed: 0, holds_released: 0, holds_estimated: 0 });
  });
});
