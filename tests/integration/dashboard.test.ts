// The admin dashboard's read paths and spend alerts on real PostgreSQL: analytics totals, series and breakdowns
// against the ledger; the request log's cursor paging; the CSV export; the call detail; alert episodes and their
// signed webhook notices.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateAlerts } from "@/lib/analytics/alerts";
import { placeHold } from "@/lib/billing/hold";
import { settleUsage } from "@/lib/billing/settle";
import { verifyWebhook } from "@/lib/http/webhook-signature";
import { drain } from "@/lib/settlement/drain";
import { accountOf, event, insertKey, seedPricedModel, topUp } from "../helpers/billing";
import { clearOfMidnight } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
let admin: string;
let developer: string;
let alice: string;
let bob: string;
let aliceKey: string;
let bobKey: string;
const HOUR = 3_600_000;
// The traffic stands at a simulated NOW, yesterday's noon (UTC), with calls an hour before it and either side of
// yesterday's first midnight (MIDNIGHT): all of it in the past, within one UTC day, whatever the hour the suite
// runs at — and the wall clock is read once, so a run crossing midnight keeps the layout.
const TODAY = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
const MIDNIGHT = new Date(TODAY.getTime() - 86_400_000);
const NOW = new Date(MIDNIGHT.getTime() + 12 * HOUR);
const DAY = (d: Date) => d.toISOString().slice(0, 10);

interface Call {
  key: string;
  id: string;
  model: string;
  at: Date;
  prompt: number;
  completion: number;
  status?: "success" | "failure" | "cut";
  error?: string | null;
}

async function run(c: Call) {
  await placeHold(sql, {
    keyId: c.key,
    callId: c.id,
    nonce: `n-${c.id}`,
    model: c.model,
    promptTokens: c.prompt,
    maxOutputTokens: 200,
  });
  await settleUsage(sql, [
    event(c.key, c.id, {
      modelGroup: c.model,
      providerModel: `openai/${c.model}`,
      promptTokens: c.prompt,
      completionTokens: c.status === "failure" ? 0 : c.completion,
      status: c.status ?? "success",
      errorClass: c.error ?? null,
      startedAt: c.at.toISOString(),
      endedAt: new Date(c.at.getTime() + 250).toISOString(),
    }),
  ]);
}

const calls: Call[] = [];

beforeAll(async () => {
  const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  const aliceId = await insertUser(sql, { email: "alice@example.com", role: "developer" });
  const bobId = await insertUser(sql, { email: "bob@example.com", role: "developer" });
  admin = await signIn("admin@example.com");
  developer = await signIn("alice@example.com");
  alice = aliceId;
  bob = bobId;
  // In force before the earliest call below (and so at the real now, where the holds are placed).
  const effectiveFrom = new Date(MIDNIGHT.getTime() - 86_400_000);
  await seedPricedModel(sql, "fake-small", undefined, undefined, { effectiveFrom });
  await seedPricedModel(
    sql,
    "fake-large",
    { input: 3_000_000n, output: 15_000_000n, inputCost: 2_000_000n, outputCost: 10_000_000n },
    undefined,
    { effectiveFrom },
  );
  aliceKey = await insertKey(sql, aliceId);
  bobKey = await insertKey(sql, bobId);
  await topUp(sql, adminId, (await accountOf(sql, aliceId)).id, 10_000_000n);
  await topUp(sql, adminId, (await accountOf(sql, bobId)).id, 10_000_000n);
  const hourAgo = new Date(NOW.getTime() - HOUR);
  for (let i = 0; i < 7; i++)
    calls.push({
      key: aliceKey,
      id: `a-${i}`,
      model: "fake-small",
      at: new Date(hourAgo.getTime() + i * 1000),
      prompt: 100 + i,
      completion: 50,
    });
  for (let i = 0; i < 3; i++)
    calls.push({
      key: bobKey,
      id: `b-${i}`,
      model: "fake-large",
      at: new Date(hourAgo.getTime() + i * 1500),
      prompt: 1000,
      completion: 333,
    });
  calls.push({
    key: bobKey,
    id: "b-fail",
    model: "fake-large",
    at: new Date(hourAgo.getTime() + 5000),
    prompt: 10,
    completion: 0,
    status: "failure",
    error: "RateLimitError",
  });
  // Either side of the last UTC midnight (the boundary belongs to the new day).
  calls.push({
    key: aliceKey,
    id: "a-before-midnight",
    model: "fake-small",
    at: new Date(MIDNIGHT.getTime() - 1),
    prompt: 10,
    completion: 10,
  });
  calls.push({
    key: aliceKey,
    id: "a-at-midnight",
    model: "fake-small",
    at: MIDNIGHT,
    prompt: 20,
    completion: 20,
  });
  for (const c of calls) await run(c);
});

async function get(path: string, cookie = admin) {
  const url = new URL(path, "http://localhost");
  const routes: Record<string, () => Promise<{ GET: Parameters<typeof call>[0] }>> = {
    "/api/v1/analytics/usage": () => import("@/app/api/v1/analytics/usage/route"),
    "/api/v1/analytics/overview": () => import("@/app/api/v1/analytics/overview/route"),
    "/api/v1/requests": () => import("@/app/api/v1/requests/route"),
    "/api/v1/requests/export": () => import("@/app/api/v1/requests/export/route"),
  };
  const { GET } = await routes[url.pathname]!();
  return call(GET, { cookie, path });
}

/** What the ledger says users paid for calls: the user accounts' side of every charge transaction. */
async function ledgerCharges(where = sql`true`) {
  const [row] = await sql<{ total: bigint }[]>`
    select coalesce(-sum(le.amount_micros), 0)::bigint as total
    from ledger_entries le join ledger_transactions t on t.id = le.transaction_id join accounts a on a.id = le.account_id
    where t.kind = 'charge' and a.kind = 'user' and ${where}`;
  return row!.total;
}

const wide = `from=${DAY(new Date(NOW.getTime() - 3 * 86_400_000))}`;

describe("usage analytics", () => {
  it("totals equal the events' sums and the ledger's charges, to the micro-USD; cost and margin side by side", async () => {
    const res = await get(`/api/v1/analytics/usage?${wide}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [db] = await sql<{ calls: number; revenue: bigint; cost: bigint; failures: number }[]>`
      select count(*)::int as calls, sum(revenue_micros)::bigint as revenue, sum(cost_micros)::bigint as cost,
             count(*) filter (where status = 'failure')::int as failures from usage_events`;
    const t = res.body.totals;
    expect(t.calls).toBe(calls.length);
    expect(t.calls).toBe(db!.calls);
    expect(t.failures).toBe(1);
    expect(BigInt(t.revenueMicros)).toBe(db!.revenue);
    expect(BigInt(t.revenueMicros)).toBe(await ledgerCharges());
    expect(BigInt(t.costMicros)).toBe(db!.cost);
    expect(BigInt(t.marginMicros)).toBe(db!.revenue - db!.cost);
    expect(db!.revenue).toBeGreaterThan(0n);
    // The series adds up to the totals, and the breakdown by model too.
    const series = res.body.series as { revenueMicros: number; calls: number }[];
    expect(series.reduce((s, p) => s + BigInt(p.revenueMicros), 0n)).toBe(db!.revenue);
    expect(series.reduce((s, p) => s + p.calls, 0)).toBe(calls.length);
    const byModel = res.body.breakdown as { id: string; revenueMicros: number; calls: number }[];
    expect(byModel.map((r) => r.id).sort()).toEqual(["fake-large", "fake-small"]);
    expect(byModel.reduce((s, r) => s + BigInt(r.revenueMicros), 0n)).toBe(db!.revenue);
  });

  it("filters change totals, series and breakdown alike (user, model, outcome, error)", async () => {
    const bobOnly = await get(`/api/v1/analytics/usage?${wide}&userId=${bob}&by=user`);
    expect(bobOnly.body.totals.calls).toBe(4);
    expect(BigInt(bobOnly.body.totals.revenueMicros)).toBe(
      await ledgerCharges(sql`a.owner_user_id = ${bob}`),
    );
    expect(bobOnly.body.breakdown.map((r: { label: string }) => r.label)).toEqual(["bob@example.com"]);
    const failed = await get(`/api/v1/analytics/usage?${wide}&error=RateLimitError`);
    expect(failed.body.totals.calls).toBe(1);
    expect((await get(`/api/v1/analytics/usage?${wide}&status=failure`)).body.totals.calls).toBe(1);
    expect((await get(`/api/v1/analytics/usage?${wide}&error=any`)).body.totals.calls).toBe(1);
    const small = await get(`/api/v1/analytics/usage?${wide}&model=fake-small&by=key`);
    expect(small.body.totals.calls).toBe(9);
    expect(small.body.breakdown).toHaveLength(1);
    expect((await get(`/api/v1/analytics/usage?${wide}&kind=embedding`)).body.totals.calls).toBe(0);
  });

  it("UTC days: a call at 23:59:59.999 is in its day, one at 00:00:00 in the next; per-hour buckets", async () => {
    const yesterday = DAY(new Date(MIDNIGHT.getTime() - 1));
    const day = await get(`/api/v1/analytics/usage?from=${yesterday}&to=${yesterday}&bucket=hour`);
    expect(day.body.totals.calls).toBe(1);
    expect(day.body.series).toHaveLength(24);
    expect(day.body.series.at(-1)).toMatchObject({ at: `${yesterday}T23:00:00Z`, calls: 1 });
    const today = await get(
      `/api/v1/analytics/usage?from=${DAY(MIDNIGHT)}&to=${DAY(MIDNIGHT)}&model=fake-small&userId=${alice}`,
    );
    expect(today.body.totals.calls).toBe(calls.filter((c) => c.key === aliceKey && c.at >= MIDNIGHT).length);
  });

  it("refuses what it cannot answer with the error contract; developers get 403", async () => {
    const bad = await get("/api/v1/analytics/usage?from=2026-11-20&to=2026-11-10");
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe("validation_failed");
    expect((await get("/api/v1/analytics/usage?from=2020-01-01&to=2026-01-01")).status).toBe(422);
    expect((await get("/api/v1/analytics/usage?kind=video")).status).toBe(422);
    expect((await get("/api/v1/analytics/usage?limit=5")).status).toBe(422);
    expect((await get("/api/v1/analytics/usage", developer)).status).toBe(403);
    expect((await get("/api/v1/requests", developer)).status).toBe(403);
    expect((await get("/api/v1/requests/export", developer)).status).toBe(403);
  });
});

describe("the overview", () => {
  it("today's and 30 days' money equal the ledger; tops and reservations are there", async () => {
    // The overview's "today" is the wall clock's: one call made now, and no midnight between it and the reads.
    await clearOfMidnight(sql, 10);
    await run({
      key: aliceKey,
      id: "a-today",
      model: "fake-small",
      at: new Date(),
      prompt: 30,
      completion: 30,
    });
    const res = await get("/api/v1/analytics/overview");
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [today] = await sql<{ revenue: bigint; calls: number; keys: number }[]>`
      select coalesce(sum(revenue_micros), 0)::bigint as revenue, count(*)::int as calls,
             count(distinct key_id)::int as keys
      from usage_events where started_at >= (now() at time zone 'utc')::date::timestamp at time zone 'utc'`;
    expect(today!.calls).toBe(1);
    expect(res.body.today.calls).toBe(today!.calls);
    expect(BigInt(res.body.today.revenueMicros)).toBe(today!.revenue);
    expect(res.body.today.activeKeys).toBe(today!.keys);
    expect(BigInt(res.body.last30Days.revenueMicros)).toBe(await ledgerCharges());
    expect(res.body.top.models[0].id).toBe("fake-large");
    expect(res.body.top.users.map((u: { label: string }) => u.label).sort()).toEqual([
      "alice@example.com",
      "bob@example.com",
    ]);
    expect(res.body.reserved).toMatchObject({ openHolds: 0, liveLeases: 0 });
    // The last 24 hours touch 25 UTC hours (the first one partly).
    expect(res.body.hourly).toHaveLength(25);
  });
});

describe("the request log", () => {
  it("pages newest first by cursor: every call exactly once, in the database's order", async () => {
    const expected = await sql<
      { call_id: string }[]
    >`select call_id from usage_events order by started_at desc, id desc`;
    const seen: string[] = [];
    let cursor = "";
    for (let page = 0; page < 20; page++) {
      const res = await get(`/api/v1/requests?${wide}&limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...res.body.items.map((r: { callId: string }) => r.callId));
      if (!res.body.nextCursor) break;
      cursor = res.body.nextCursor;
    }
    expect(seen).toEqual(expected.map((r) => r.call_id));
    expect((await get(`/api/v1/requests?cursor=not-a-cursor`)).status).toBe(422);
  });

  it("carries what a row needs: key prefix, tokens, money with margin, billing, latency, error class", async () => {
    const res = await get(`/api/v1/requests?${wide}&error=RateLimitError`);
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({
      callId: "b-fail",
      keyPrefix: "tg_test",
      userEmail: "bob@example.com",
      model: "fake-large",
      kind: "chat",
      status: "failure",
      errorClass: "RateLimitError",
      revenueMicros: 0,
      latencyMs: 250,
    });
  });

  it("a call's detail has its hold, its ledger transaction and its price version", async () => {
    const [row] = await sql<{ id: string; revenue: bigint }[]>`
      select id::text as id, revenue_micros as revenue from usage_events where call_id = 'b-0'`;
    const { GET } = await import("@/app/api/v1/requests/[id]/route");
    const res = await call(GET, {
      cookie: admin,
      path: `/api/v1/requests/${row!.id}`,
      params: { id: row!.id },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const r = res.body.request;
    expect(r.hold).toMatchObject({ status: "settled" });
    expect(r.ledger.kind).toBe("charge");
    expect(BigInt(r.ledger.accountAmountMicros)).toBe(-row!.revenue);
    expect(r.priceVersion.inputPriceMicros).toBe(3_000_000);
    // 1000 in × $3/M + 333 out × $15/M = 3000 + 4995 micro-USD.
    expect(BigInt(r.revenueMicros)).toBe(7_995n);
    const missing = await call(GET, {
      cookie: admin,
      path: "/api/v1/requests/999999",
      params: { id: "999999" },
    });
    expect(missing.status).toBe(404);
  });
});

describe("time to first token", () => {
  it("a stream's first-token time becomes its TTFT in the log and the CSV; a time outside the call is ignored", async () => {
    const at = new Date(NOW.getTime() - 30 * 60_000);
    const streamed = (id: string, firstTokenAt: Date) =>
      event(bobKey, id, {
        stream: true,
        startedAt: at.toISOString(),
        endedAt: new Date(at.getTime() + 500).toISOString(),
        firstTokenAt: firstTokenAt.toISOString(),
      });
    await settleUsage(sql, [
      streamed("ttft-ok", new Date(at.getTime() + 80)),
      streamed("ttft-before-start", new Date(at.getTime() - 1000)),
    ]);
    const res = await get(`/api/v1/requests?${wide}&userId=${bob}&model=fake-small`);
    const byCall = Object.fromEntries(
      res.body.items.map((r: { callId: string; ttftMs: number | null }) => [r.callId, r.ttftMs]),
    );
    expect(byCall["ttft-ok"]).toBe(80);
    expect(byCall["ttft-before-start"]).toBeNull();
    const csv = (await get(`/api/v1/requests/export?${wide}&userId=${bob}&model=fake-small`)).body as string;
    const [header, ...lines] = csv.trim().split("\r\n");
    const cols = header!.split(",");
    const row = lines.map((l) => l.split(",")).find((c) => c[cols.indexOf("call_id")] === "ttft-ok")!;
    expect(row[cols.indexOf("ttft_ms")]).toBe("80");
  });
});

describe("the CSV export", () => {
  it("holds exactly the filtered rows, UTC times, money as exact decimal strings", async () => {
    const res = await get(`/api/v1/requests/export?${wide}&model=fake-large`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(res.headers.get("content-disposition")).toMatch(/attachment; filename="tollgate-requests-/);
    const lines = (res.body as string).trim().split("\r\n");
    const header = lines[0]!.split(",");
    expect(header).toContain("revenue_usd");
    expect(header).toContain("margin_usd");
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [header[i], v])));
    const db = await sql<{ call_id: string; revenue: bigint; cost: bigint; started: Date }[]>`
      select call_id, revenue_micros as revenue, cost_micros as cost, started_at as started from usage_events
      where model_group = 'fake-large' order by started_at desc, id desc`;
    expect(rows.map((r) => r.call_id)).toEqual(db.map((r) => r.call_id));
    const dollars = (m: bigint) => `${m / 1_000_000n}.${(m % 1_000_000n).toString().padStart(6, "0")}`;
    expect(rows.map((r) => r.revenue_usd)).toEqual(db.map((r) => dollars(r.revenue)));
    expect(rows.map((r) => r.cost_usd)).toEqual(db.map((r) => dollars(r.cost)));
    expect(rows.map((r) => r.started_at_utc)).toEqual(db.map((r) => r.started.toISOString()));
    expect(rows.find((r) => r.call_id === "b-0")!.revenue_usd).toBe("0.007995");
  });
});

describe("spend alerts", () => {
  let server: Server;
  let url: string;
  const received: { body: string; signature: string | null }[] = [];
  let failNext = 0;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        if (failNext > 0) {
          failNext--;
          res.writeHead(500).end();
          return;
        }
        received.push({ body, signature: req.headers["x-tollgate-signature"] as string | null });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const drainNow = () =>
    drain(sql, { budgetMs: 5_000, replay: async () => [], policy: "release", graceMinutes: 60 });

  it("a spend-rate rule fires once as traffic crosses it, escalates once, resolves, and re-arms; notices are signed", async () => {
    const { PATCH } = await import("@/app/api/v1/alerts/settings/route");
    const saved = await call(PATCH, {
      cookie: admin,
      method: "PATCH",
      path: "/api/v1/alerts/settings",
      body: { webhookUrl: url },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const secret = saved.body.settings.signingSecret as string;
    const { POST } = await import("@/app/api/v1/alerts/rules/route");
    // Alice's key: warning at $0.0005/hour, critical at $0.01/hour, over 60 minutes.
    const created = await call(POST, {
      cookie: admin,
      method: "POST",
      path: "/api/v1/alerts/rules",
      body: {
        name: "Alice's key",
        scope: "key",
        keyId: aliceKey,
        metric: "spend_rate",
        warnThreshold: 500,
        criticalThreshold: "10000",
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const ruleId = created.body.rule.id as string;
    // Only this rule for this test: the default platform rules stay out of the counts.
    await sql`update alert_rules set enabled = false where id <> ${ruleId}`;

    const [spent] = await sql<{ revenue: bigint }[]>`
      select sum(revenue_micros)::bigint as revenue from usage_events
      where key_id = ${aliceKey} and started_at >= ${new Date(NOW.getTime() - HOUR)} and started_at < ${NOW}`;
    expect(spent!.revenue).toBeGreaterThanOrEqual(500n);
    expect(spent!.revenue).toBeLessThan(10_000n);
    // Evaluated at NOW: the window [NOW − 1 h, NOW) holds every call of the key made above.
    const at = NOW;
    expect(await evaluateAlerts(sql, at)).toMatchObject({ opened: 1, escalated: 0, resolved: 0 });
    // Evaluated again with the same traffic: nothing new (no spam).
    expect(await evaluateAlerts(sql, at)).toMatchObject({ opened: 0, escalated: 0, resolved: 0 });
    // The receiver fails once: the queue retries the notice.
    failNext = 1;
    await drainNow();
    await sql`update queue_jobs set run_after = now() where name = 'alerts.deliver' and state = 'retry'`;
    await drainNow();
    expect(received).toHaveLength(1);
    const notice = JSON.parse(received[0]!.body);
    expect(notice).toMatchObject({
      type: "alert.opened",
      alert: { severity: "warning", rule: { id: ruleId, metric: "spend_rate" } },
    });
    expect(BigInt(notice.alert.value)).toBe(spent!.revenue);
    expect(
      verifyWebhook(secret, received[0]!.body, received[0]!.signature, { toleranceSeconds: 300 }),
    ).toEqual({ ok: true });
    expect(
      verifyWebhook("another secret of enough length", received[0]!.body, received[0]!.signature, {
        toleranceSeconds: 300,
      }).ok,
    ).toBe(false);

    // More spend on the key within the hour: escalation, once.
    for (let i = 0; i < 3; i++)
      await run({
        key: aliceKey,
        id: `burst-${i}`,
        model: "fake-large",
        at: new Date(NOW.getTime() - 1000 * (i + 1)),
        prompt: 1000,
        completion: 333,
      });
    expect(await evaluateAlerts(sql, at)).toMatchObject({ escalated: 1 });
    expect(await evaluateAlerts(sql, at)).toMatchObject({ opened: 0, escalated: 0 });
    // Two hours later the window is empty: resolved, once.
    const later = new Date(NOW.getTime() + 2 * HOUR);
    expect(await evaluateAlerts(sql, later)).toMatchObject({ resolved: 1 });
    expect(await evaluateAlerts(sql, new Date(later.getTime() + 60_000))).toMatchObject({
      resolved: 0,
      opened: 0,
    });
    await drainNow();
    expect(received.map((r) => JSON.parse(r.body).type)).toEqual([
      "alert.opened",
      "alert.escalated",
      "alert.resolved",
    ]);
    const episodes = await sql`select * from alert_episodes where rule_id = ${ruleId}`;
    expect(episodes).toHaveLength(1);
    expect(episodes[0]).toMatchObject({ peak_severity: "critical" });
    expect(episodes[0]!.cleared_at).not.toBeNull();

    // Re-armed: the same traffic, measured at a time it is in the window again, opens a new episode.
    expect(await evaluateAlerts(sql, at)).toMatchObject({ opened: 1 });
    const { GET } = await import("@/app/api/v1/alerts/route");
    const open = await call(GET, { cookie: admin, path: "/api/v1/alerts?state=open" });
    expect(open.body.items).toHaveLength(1);
    expect(open.body.items[0]).toMatchObject({ ruleName: "Alice's key", severity: "critical" });
    expect((await call(GET, { cookie: developer, path: "/api/v1/alerts" })).status).toBe(403);

    // The receiver is down for good: the new episode's notice runs out of attempts and shows as failed, not pending.
    failNext = 1_000;
    await sql`update queue_jobs set max_attempts = 2 where name = 'alerts.deliver' and state = 'created'`;
    await drainNow();
    await sql`update queue_jobs set run_after = now() where name = 'alerts.deliver' and state = 'retry'`;
    await drainNow();
    failNext = 0;
    const failed = await call(GET, { cookie: admin, path: "/api/v1/alerts?state=open" });
    expect(failed.body.items[0].deliveries).toEqual([
      { event: "opened", status: "failed", attempts: 2, lastError: "answered 500" },
    ]);
  });

  it("refuses rules that make no sense, writing nothing", async () => {
    const { POST } = await import("@/app/api/v1/alerts/rules/route");
    const before = await sql`select count(*)::int as n from alert_rules`;
    for (const body of [
      { name: "x", scope: "platform", metric: "spend_rate" },
      { name: "x", scope: "user", metric: "spend_rate", warnThreshold: 5 },
      { name: "x", scope: "platform", metric: "error_rate", warnThreshold: 20_000 },
      { name: "x", scope: "platform", metric: "spend_rate", warnThreshold: 10, criticalThreshold: 5 },
      { name: "x", scope: "platform", metric: "spend_rate", warnThreshold: "1e3" },
      { name: "x", scope: "platform", metric: "spend_rate", warnThreshold: 1.5 },
    ]) {
      const res = await call(POST, { cookie: admin, method: "POST", path: "/api/v1/alerts/rules", body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect(await sql`select count(*)::int as n from alert_rules`).toEqual(before);
  });
});

describe("the hourly roll-up (usage_hourly)", () => {
  it("equals the events' sums after inserts and an upgraded outcome, so rolled-up and raw views agree", async () => {
    // A call first reported failed, then (a later, better report) served: upgrade_usage updates its row.
    const at = new Date(NOW.getTime() - 2 * HOUR);
    await run({
      key: aliceKey,
      id: "upgraded",
      model: "fake-small",
      at,
      prompt: 40,
      completion: 0,
      status: "failure",
      error: "Timeout",
    });
    await settleUsage(sql, [
      event(aliceKey, "upgraded", {
        startedAt: at.toISOString(),
        endedAt: at.toISOString(),
        promptTokens: 40,
        completionTokens: 60,
      }),
    ]);
    const [upgraded] = await sql`select status, revenue_micros from usage_events where call_id = 'upgraded'`;
    expect(upgraded).toMatchObject({ status: "success" });
    const diff = await sql`
      with raw as (
        select date_trunc('hour', started_at at time zone 'utc') as hour, model_group, kind, status,
               billing_status(status) as billing_status, count(*)::bigint as calls, count(error_class)::bigint as errors, sum(prompt_tokens)::bigint as tokens_in,
               sum(completion_tokens)::bigint as tokens_out, sum(revenue_micros)::bigint as revenue_micros,
               sum(cost_micros)::bigint as cost_micros
        from usage_events group by 1, 2, 3, 4, 5
      ),
      rolled as (
        select hour, model_group, kind, status, billing_status, calls, errors, tokens_in, tokens_out, revenue_micros,
               cost_micros from usage_hourly where calls <> 0
      )
      (select 'missing' as side, * from raw except select 'missing', * from rolled)
      union all
      (select 'extra', * from rolled except select 'extra', * from raw)`;
    expect(diff).toEqual([]);
    // So do the per-day owner roll-ups, per UTC day and key or user (the upgrade moved the call's money and outcome).
    const owners = await sql`
      with raw as (
        select owner_kind, owner_id, day, count(*)::bigint as calls,
               count(*) filter (where status = 'failure')::bigint as failures, sum(prompt_tokens)::bigint as tokens_in,
               sum(completion_tokens)::bigint as tokens_out, sum(revenue_micros)::bigint as revenue_micros,
               sum(cost_micros)::bigint as cost_micros
        from (select 'key' as owner_kind, key_id as owner_id, (started_at at time zone 'utc')::date as day, *
              from usage_events
              union all
              select 'user', k.user_id, (u.started_at at time zone 'utc')::date, u.*
              from usage_events u join api_keys k on k.id = u.key_id) e
        group by 1, 2, 3
      ),
      kept as (
        select owner_kind, owner_id, day, calls, failures, tokens_in, tokens_out, revenue_micros, cost_micros
        from usage_owner_days
      )
      (select 'missing' as side, * from raw except select 'missing', * from kept)
      union all
      (select 'extra', * from kept except select 'extra', * from raw)`;
    expect(owners).toEqual([]);
    // The same view read through the roll-up (whole hours) and through the events (a user filter) agrees.
    const all = await get(`/api/v1/analytics/usage?${wide}&model=fake-small&by=user`);
    const perUser = await Promise.all(
      [alice, bob].map(
        async (id) =>
          (await get(`/api/v1/analytics/usage?${wide}&model=fake-small&userId=${id}`)).body.totals,
      ),
    );
    expect(BigInt(all.body.totals.revenueMicros)).toBe(
      perUser.reduce((s, t) => s + BigInt(t.revenueMicros), 0n),
    );
    expect(all.body.totals.calls).toBe(perUser.reduce((s, t) => s + t.calls, 0));
    expect(all.body.totals.activeUsers).toBe(2);
  });
});

describe("by-user and by-key views over settled days", () => {
  it("read the daily settlement's roll-ups for settled days and the events for the rest: the same sums", async () => {
    const { startSettlement } = await import("@/lib/settlement/run");
    const yesterday = DAY(new Date(MIDNIGHT.getTime() - 1));
    const range = `from=${DAY(new Date(MIDNIGHT.getTime() - 3 * 86_400_000))}`;
    const before = await get(`/api/v1/analytics/usage?${range}&by=key`);
    // Settle yesterday (its one call, a-before-midnight): usage_rollups now holds it and the run is completed.
    await startSettlement(
      sql,
      { userId: null, kind: "system" },
      { day: yesterday, trigger: "manual", chunkAccounts: 500 },
    );
    await drain(sql, { budgetMs: 10_000, replay: async () => [], policy: "release", graceMinutes: 0 });
    const [run] = await sql`select status from settlement_runs where day = ${yesterday}`;
    expect(run).toMatchObject({ status: "completed" });
    expect(
      (await sql`select count(*)::int as n from usage_rollups where day = ${yesterday}`)[0]!.n,
    ).toBeGreaterThan(0);
    const after = await get(`/api/v1/analytics/usage?${range}&by=key`);
    const byKey = (res: typeof after) =>
      Object.fromEntries(
        (res.body.breakdown as { id: string; calls: number; revenueMicros: number; tokensIn: number }[]).map(
          (r) => [r.id, [r.calls, r.revenueMicros, r.tokensIn]],
        ),
      );
    expect(byKey(after)).toEqual(byKey(before));
    const [raw] = await sql<{ revenue: bigint }[]>`
      select sum(revenue_micros)::bigint as revenue from usage_events where key_id = ${aliceKey}
      and started_at >= ${new Date(MIDNIGHT.getTime() - 3 * 86_400_000)}`;
    expect(BigInt(byKey(after)[aliceKey]![1]!)).toBe(raw!.revenue);
    // And the settled day is read from the roll-up (not the events) when filtered by billing status or model: a mark
    // on the roll-up row's tokens shows through.
    const filtered = await get(`/api/v1/analytics/usage?${range}&by=key&billing=exact`);
    await sql`update usage_rollups set tokens_in = tokens_in + 1000 where day = ${yesterday} and key_id = ${aliceKey}`;
    const marked = await get(`/api/v1/analytics/usage?${range}&by=key&billing=exact`);
    expect(byKey(marked)[aliceKey]![2]).toBe(byKey(filtered)[aliceKey]![2]! + 1000);
    await sql`update usage_rollups set tokens_in = tokens_in - 1000 where day = ${yesterday} and key_id = ${aliceKey}`;
    // Unless its calls no longer match what the inserts kept (a call recorded after the roll-up: here, a mark on its
    // count): then the day is read from its calls until the next cron rolls it up again.
    await sql`update usage_rollups set requests = requests + 1000 where day = ${yesterday} and key_id = ${aliceKey}`;
    const stale = await get(`/api/v1/analytics/usage?${range}&by=key&billing=exact`);
    expect(byKey(stale)).toEqual(byKey(filtered));
    await sql`update usage_rollups set requests = requests - 1000 where day = ${yesterday} and key_id = ${aliceKey}`;
    // Unfiltered, every whole day is read from the per-day owner roll-up the triggers keep (docs/adr/0024).
    await sql`update usage_owner_days set calls = calls + 1000
              where owner_kind = 'key' and day = ${yesterday} and owner_id = ${aliceKey}`;
    const kept = await get(`/api/v1/analytics/usage?${range}&by=key`);
    expect(byKey(kept)[aliceKey]![0]).toBe(byKey(after)[aliceKey]![0]! + 1000);
    await sql`update usage_owner_days set calls = calls - 1000
              where owner_kind = 'key' and day = ${yesterday} and owner_id = ${aliceKey}`;
  });
});
