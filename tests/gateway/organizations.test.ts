// Organizations through the real gateway (issue 25, ADR 0016): a shared balance its members spend within their own
// caps, enforced where the money is reserved (the lease grant), so no concurrency, lease or midnight overshoots any
// of them; a removed member's keys refused within the auth TTL, their leases returned, nothing lost. Real
// PostgreSQL, next start, two LiteLLM processes with the plugin on leases (the default billing path), the fake
// upstream, the official openai client.
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expireLeases } from "@/lib/billing/leases";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { createClient } from "@/lib/db/client";
import { removeMember } from "@/lib/orgs/members";
import { DEMO_MODELS } from "@/lib/seed/demo";
import { ProcessGroup, type Running } from "@/scripts/stack/processes";
import { clearOfMidnight } from "../helpers/clock";
import { createTestOrganization, memberWindows, type TestOrganization } from "../helpers/orgs";
import { priceTokens } from "../helpers/price";
import { TEST_KEY_PEPPER } from "../stack/start";
import { customer, failure, startGatewayStack, usageRowsOf } from "./helpers";
import { startAnotherGateway, stopGateway } from "./processes";

/** The production auth cache TTL (README: ≤ 5 s, default 5): what "refused within the auth TTL" promises. */
const AUTH_TTL_SECONDS = 5;
const GATEWAY_ENV = { TOLLGATE_AUTH_CACHE_TTL: String(AUTH_TTL_SECONDS), TOLLGATE_LEASE_IDLE_SECONDS: "1" };
const ctx = startGatewayStack(
  "gateway-orgs",
  { app: 3214, pg: 25514, litellm: 4124, upstream: 4134 },
  { LEASE_INFLIGHT_KEEP_SECONDS: "10" },
  GATEWAY_ENV,
);
const SECOND_PORT = 4125;
const others = new ProcessGroup();
let second: Running | undefined;
beforeAll(async () => {
  second = await startAnotherGateway(ctx, others, {
    port: SECOND_PORT,
    outbox: `outbox-orgs-b-${Date.now()}`,
    env: GATEWAY_ENV,
  });
}, 180_000);
afterAll(async () => {
  if (second) await stopGateway(second);
  await others.stop();
});

// Every call of this file: fake-large (seeded at $3.50 / $15 per million tokens), 8 choices of at most 16 tokens.
const LARGE = DEMO_MODELS.find((m) => m.name === "fake-large")!;
const PRICE = LARGE.price;
const MAX_TOKENS = 16;
const CHOICES = 8;
const messages = [{ role: "user" as const, content: "Spend from the organization's balance." }];
// Its worst case, as the gateway bounds it (litellm/tollgate_litellm/bounds.py): at most one prompt token per byte of
// the body's messages, plus 16 per request and 4 per message; max_tokens × n output tokens.
const PROMPT_BOUND = Buffer.byteLength(JSON.stringify({ messages })) + 16 + 4 * messages.length;
const WORST = priceTokens({ input: PROMPT_BOUND, output: MAX_TOKENS * CHOICES }, PRICE);
// Its charge: the fake upstream bills 3 tokens per request, 4 per message and one per word, and answers every choice
// with 16–47 tokens capped by max_tokens, so exactly 16 each.
const PROMPT_TOKENS = 3 + 4 * messages.length + messages[0]!.content.split(/\s+/).length;
const CHARGE = priceTokens({ input: PROMPT_TOKENS, output: MAX_TOKENS * CHOICES }, PRICE);
/**
 * How many calls a cap lets through, each charged CHARGE, when every call is let through while the cap's room (cap less
 * what was charged) covers its worst case: the cap is reached to within one worst case, never passed.
 */
const callsWithin = (cap: bigint) => (cap - WORST) / CHARGE + 1n;

const GATEWAYS = () => [ctx.stack.gatewayUrl!, `http://127.0.0.1:${SECOND_PORT}/v1`];
const client = (secret: string, baseURL: string) =>
  new OpenAI({ baseURL, apiKey: secret, maxRetries: 0, timeout: 200_000 });
const call = (c: OpenAI) =>
  failure(c.chat.completions.create({ model: "fake-large", messages, max_tokens: MAX_TOKENS, n: CHOICES }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const usd = (micros: bigint) =>
  `$${micros / 1_000_000n}.${(micros % 1_000_000n).toString().padStart(6, "0")}`;

/** One call's result as the app saw it. */
interface Outcome {
  member: string;
  keyId: string;
  gateway: number;
  status: number; // 200 when served
  message: string;
  startedAt: number;
  endedAt: number;
}

/** A member's clients: each of their keys through each gateway process. */
function clientsOf(org: TestOrganization, index: number) {
  const m = org.members[index]!;
  return m.keys.flatMap((k) =>
    GATEWAYS().map((base, gateway) => ({ keyId: k.id, gateway, c: client(k.secret, base) })),
  );
}

async function callAs(
  member: string,
  target: { keyId: string; gateway: number; c: OpenAI },
): Promise<Outcome> {
  const startedAt = Date.now();
  const result = await call(target.c);
  return {
    member,
    keyId: target.keyId,
    gateway: target.gateway,
    status: result?.status ?? 200,
    message: result?.message ?? "",
    startedAt,
    endedAt: Date.now(),
  };
}

/**
 * Money the cron's lease step (expire_leases, the first thing /api/cron/drain does) released from leases past their
 * validity while a test waited: leases a gateway process no longer held but that still reserved money. A returned
 * lease keeps its in-flight calls' share for LEASE_INFLIGHT_KEEP_SECONDS (here 10 s, 900 by default) and goes back
 * whole when that runs out; a process that let a lease go unreturned (told it was closed) leaves it to expiry too.
 */
const swept = { leases: 0, micros: 0n };
afterEach(({ task }) => {
  console.log(
    `${task.name}: the cron's lease step released ${swept.leases} lease(s) past their validity, ${usd(swept.micros)} still reserved on them`,
  );
  swept.leases = 0;
  swept.micros = 0n;
});

/**
 * Waits until the account is settled: a usage row for every call served and nothing held (every lease went back when
 * idle and every draw was charged). While every call is charged but money is still held, runs the cron's lease step
 * as the platform's frequent cron does (every 15 s locally, every minute on Vercel), counting what it released.
 */
async function settled(accountId: string, served: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await ctx.sql<{ rows: number; balance_micros: bigint; held_micros: bigint }[]>`
      select (select count(*)::int from usage_events u where u.account_id = a.id) as rows, a.balance_micros,
             a.held_micros
      from accounts a where a.id = ${accountId}`;
    if ((row!.rows >= served && row!.held_micros === 0n) || Date.now() > deadline) return row!;
    if (row!.rows >= served) {
      const expired = await expireLeases(ctx.sql);
      swept.leases += expired.expired;
      swept.micros += expired.releasedMicros;
    }
    await sleep(200);
  }
}

/**
 * Calls one at a time on a member's clients until a call is refused while the account is settled (nothing held,
 * every call charged): the member then stops for good at what their room allows. Returns every outcome.
 */
async function untilRefused(
  member: string,
  targets: ReturnType<typeof clientsOf>,
  accountId: string,
  servedSoFar: () => number,
  record: (o: Outcome) => void,
): Promise<Outcome[]> {
  const seen: Outcome[] = [];
  for (let i = 0; i < 200; i++) {
    const target = targets[i % targets.length]!;
    const first = await callAs(member, target);
    record(first);
    seen.push(first);
    if (first.status === 200) continue;
    // Refused with draws of its own still unsettled or leases held elsewhere: try again once all of that is settled.
    await settled(accountId, servedSoFar());
    const again = await callAs(member, target);
    record(again);
    seen.push(again);
    if (again.status !== 200) return seen;
  }
  throw new Error(`${member} was never refused in 200 calls`);
}

/** The organization's usage rows, each with the UTC day and month its lease reserved its money in. */
async function usageOf(accountId: string) {
  return ctx.sql<
    {
      user_id: string;
      status: string;
      billing_status: string;
      revenue_micros: bigint;
      lease_id: string | null;
      reserved_day: string;
      reserved_month: string;
    }[]
  >`
    select (select k.user_id from api_keys k where k.id = u.key_id) as user_id, u.status, billing_status(u.status) as billing_status, u.revenue_micros, u.lease_id,
           (l.created_at at time zone 'utc')::date::text as reserved_day,
           date_trunc('month', l.created_at at time zone 'utc')::date::text as reserved_month
    from usage_events u left join leases l on l.id = u.lease_id
    where u.account_id = ${accountId} order by u.id`;
}

const sum = (rows: { revenue_micros: bigint }[]) => rows.reduce((s, r) => s + r.revenue_micros, 0n);
/** Usage rows grouped by a window: [window, calls, charged] per window. */
function windows<T extends { revenue_micros: bigint }>(rows: T[], windowOf: (row: T) => string) {
  const groups = new Map<string, T[]>();
  for (const r of rows) groups.set(windowOf(r), [...(groups.get(windowOf(r)) ?? []), r]);
  return [...groups].map(([window, r]) => [window, r.length, sum(r)] as const);
}
const served = (outcomes: Outcome[], member?: string) =>
  outcomes.filter((o) => o.status === 200 && (member === undefined || o.member === member)).length;

/** Refusals by status and message pattern ("429 Your spending cap … today $0.198162 of …" → digits as #). */
function refusals(outcomes: Outcome[], member: string) {
  const counts: Record<string, number> = {};
  for (const o of outcomes.filter((x) => x.member === member && x.status !== 200)) {
    const shape = `${o.status} ${o.message.replace(/\d/g, "#")}`;
    counts[shape] = (counts[shape] ?? 0) + 1;
  }
  return counts;
}

/** A money amount as messages write it, as a pattern. */
const money = (micros: bigint) => usd(micros).replace(/[$.]/g, "\\$&");
/** The 429 of a member's cap, naming the window and the cap (what was used of it varies). */
const capRefusal = (window: "today" | "this month", cap: bigint) =>
  new RegExp(
    `^429 Your spending cap in this organization would be exceeded: this call may cost up to ${money(WORST)}; ${window} \\$0\\.\\d{6} of ${money(cap)} used\\.$`,
  );
const BALANCE = new RegExp(
  `^402 Insufficient balance: this call may cost up to ${money(WORST)}, but only \\$0\\.\\d{6} is available`,
);
/**
 * A 402 given while the organization still had the money, leased out to other key × process pairs: its message shows
 * a balance that covers the call, held by reservations.
 */
function heldOut(message: string): boolean {
  const m =
    /^402 Insufficient balance: this call may cost up to \$(\d+)\.(\d{6}), but only \$(\d+)\.(\d{6}) is available \(balance \$(\d+)\.(\d{6}), \$(\d+)\.(\d{6}) reserved by calls in progress and gateway leases\)/.exec(
      message,
    );
  if (!m) return false;
  const amount = (i: number) => BigInt(m[i]!) * 1_000_000n + BigInt(m[i + 1]!);
  const [needed, available, balance, held] = [amount(1), amount(3), amount(5), amount(7)];
  return needed === WORST && balance >= WORST && available < WORST && balance - held === available;
}

describe("one call, priced as the test computes it", () => {
  it("draws its worst case and is charged its exact price", async () => {
    expect({ WORST, CHARGE }).toEqual({ WORST: 2_274n, CHARGE: 1_962n });
    const probe = await customer(ctx, 1_000_000n);
    const { data, response } = await client(probe.secret, ctx.stack.gatewayUrl!)
      .chat.completions.create({ model: "fake-large", messages, max_tokens: MAX_TOKENS, n: CHOICES })
      .withResponse();
    expect(BigInt(response.headers.get("x-tollgate-hold-micros")!)).toBe(WORST);
    expect(data.usage).toMatchObject({
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: MAX_TOKENS * CHOICES,
    });
    const [row] = await usageRowsOf(ctx, probe.id, 1);
    expect(row).toMatchObject({ status: "success", billing_status: "exact", revenue_micros: CHARGE });
  });
});

describe("members' caps under 600 concurrent calls through two gateway processes on leases", () => {
  it("each capped member stops at their cap to within one call's worst case; the organization never below zero", {
    timeout: 400_000,
  }, async () => {
    // A's cap is a UTC day's: the whole test in one day of the real clock.
    await clearOfMidnight(ctx.sql, 300);
    const CAP_A = 200_000n;
    const CAP_B = 300_000n;
    const FUNDS = 1_000_000n;
    const CAP_DAY = capRefusal("today", CAP_A);
    const CAP_MONTH = capRefusal("this month", CAP_B);
    const org = await createTestOrganization(ctx.sql, {
      pepper: TEST_KEY_PEPPER,
      balanceMicros: FUNDS,
      members: [
        { role: "owner", keys: 2 }, // C: no cap, spends until the organization runs dry
        { role: "member", dailyCapMicros: CAP_A, keys: 2 }, // A
        { role: "admin", monthlyCapMicros: CAP_B, keys: 2 }, // B
      ],
    });
    const names = ["C", "A", "B"];
    const targets = names.map((_, i) => clientsOf(org, i));
    const outcomes: Outcome[] = [];
    const record = (o: Outcome) => outcomes.push(o);
    const total = () => served(outcomes);
    const chargedOf = async (i: number) =>
      sum((await usageOf(org.accountId)).filter((r) => r.user_id === org.members[i]!.userId));
    const concurrently = async <T extends { name: string; t: (typeof targets)[number][number] }>(
      jobs: T[],
    ) => {
      const started = Date.now();
      const results = await Promise.all(jobs.map(({ name, t }) => callAs(name, t)));
      results.forEach(record);
      return { results, seconds: (Date.now() - started) / 1000 };
    };
    const spread = (members: number[], perPair: number) => {
      const jobs = [];
      for (let i = 0; i < perPair; i++)
        for (const m of members) for (const t of targets[m]!) jobs.push({ name: names[m]!, t });
      return jobs;
    };

    // 1. 600 at once: 50 on each of the six keys through each of the two processes, interleaved. C's calls fit in
    // what A's and B's caps leave, so nothing runs dry; what is refused is refused by a cap, or by the balance while
    // the leases of the twelve key × process pairs hold it (ADR 0011's fair share: each grant takes at most half of
    // what is left, so a burst on a balance this small leases most of it out at once).
    const burst = await concurrently(spread([0, 1, 2], 50));
    expect(burst.results).toHaveLength(600);
    const inBurst = Object.fromEntries(names.map((n) => [n, served(burst.results, n)]));
    console.log(
      `1. 600 concurrent calls over 6 keys × 2 processes in ${burst.seconds.toFixed(1)} s: served C ${inBurst.C}, A ${inBurst.A}, B ${inBurst.B}`,
      names.map((n) => ({ member: n, refusals: refusals(burst.results, n) })),
    );
    expect(burst.results.filter((o) => o.status !== 200 && o.status !== 429 && o.status !== 402)).toEqual([]);
    for (const o of burst.results.filter((x) => x.status !== 200)) {
      if (o.status === 429) expect(o.message).toMatch(o.member === "A" ? CAP_DAY : CAP_MONTH);
      else expect(heldOut(o.message), o.message).toBe(true);
    }
    let account = await settled(org.accountId, total());
    expect(account).toMatchObject({ rows: total(), held_micros: 0n });
    // No overshoot under concurrency.
    expect(await chargedOf(1)).toBeLessThanOrEqual(CAP_A);
    expect(await chargedOf(2)).toBeLessThanOrEqual(CAP_B);

    // 2. A and B against their caps, 200 at once (C quiet: what A's and B's caps leave is less than the balance, so
    // every refusal is a cap's), then one at a time until refused with everything settled.
    const capped = await concurrently(spread([1, 2], 25));
    console.log(
      `2. 200 concurrent calls on A's and B's keys in ${capped.seconds.toFixed(1)} s: served A ${served(capped.results, "A")}, B ${served(capped.results, "B")}`,
      ["A", "B"].map((n) => ({ member: n, refusals: refusals(capped.results, n) })),
    );
    expect(
      capped.results
        .filter((o) => o.member === "A" && o.status !== 200)
        .every((o) => CAP_DAY.test(o.message)),
    ).toBe(true);
    expect(
      capped.results
        .filter((o) => o.member === "B" && o.status !== 200)
        .every((o) => CAP_MONTH.test(o.message)),
    ).toBe(true);
    expect(capped.results.some((o) => o.status === 429)).toBe(true);
    account = await settled(org.accountId, total());
    expect(account).toMatchObject({ rows: total(), held_micros: 0n });
    const topA = await untilRefused("A", targets[1]!, org.accountId, total, record);
    const topB = await untilRefused("B", targets[2]!, org.accountId, total, record);
    expect(topA.filter((o) => o.status !== 200).every((o) => CAP_DAY.test(o.message))).toBe(true);
    expect(topB.filter((o) => o.status !== 200).every((o) => CAP_MONTH.test(o.message))).toBe(true);

    // 3. C alone runs the organization dry: more calls at once than what is left covers at their worst case (how much
    // is left depends on how the first bursts' leases fell: a fresh-clone run had 120 at once all served), then one
    // at a time to the last call the balance covers.
    account = await settled(org.accountId, total());
    const covered = Number(account.balance_micros / WORST);
    const perKey = Math.ceil((covered + 40) / 4);
    const dry = await concurrently(spread([0], perKey));
    console.log(
      `3. ${perKey * 4} concurrent calls on C's keys (the balance covers ${covered} worst cases) in ${dry.seconds.toFixed(1)} s: served ${served(dry.results, "C")}`,
      refusals(dry.results, "C"),
    );
    expect(dry.results.filter((o) => o.status !== 200).every((o) => BALANCE.test(o.message))).toBe(true);
    expect(dry.results.some((o) => o.status === 402)).toBe(true);
    const topC = await untilRefused("C", targets[0]!, org.accountId, total, record);
    expect(topC.filter((o) => o.status !== 200).every((o) => BALANCE.test(o.message))).toBe(true);

    account = await settled(org.accountId, total());
    const rows = await usageOf(org.accountId);
    const byMember = (i: number) => rows.filter((r) => r.user_id === org.members[i]!.userId);
    const charged = { C: sum(byMember(0)), A: sum(byMember(1)), B: sum(byMember(2)) };
    const counts = Object.fromEntries(names.map((n) => [n, served(outcomes, n)]));
    console.log(
      `charged: A ${usd(charged.A)} (${counts.A} calls, cap ${usd(CAP_A)}), B ${usd(charged.B)} (${counts.B} calls, cap ${usd(CAP_B)}), C ${usd(charged.C)} (${counts.C} calls); balance left ${usd(account.balance_micros)}; ${outcomes.length} calls, ${outcomes.length - total()} refused`,
      names.map((n) => ({ member: n, refusals: refusals(outcomes, n) })),
    );
    // Every call served was charged once, exactly, from a lease; no other call was.
    expect(rows).toHaveLength(total());
    expect(
      rows.every((r) => r.status === "success" && r.billing_status === "exact" && r.lease_id !== null),
    ).toBe(true);
    expect(rows.every((r) => r.revenue_micros === CHARGE)).toBe(true);
    expect(byMember(1)).toHaveLength(counts.A!);
    expect(byMember(2)).toHaveLength(counts.B!);
    // Each capped member at their cap, to within one call's worst case, never above it.
    expect(charged.A).toBeLessThanOrEqual(CAP_A);
    expect(charged.A).toBeGreaterThan(CAP_A - WORST);
    expect(charged.B).toBeLessThanOrEqual(CAP_B);
    expect(charged.B).toBeGreaterThan(CAP_B - WORST);
    expect(BigInt(counts.A!)).toBe(callsWithin(CAP_A)); // 101
    expect(BigInt(counts.B!)).toBe(callsWithin(CAP_B)); // 152
    // The members' cap counters hold exactly what they were charged (nothing reserved any more).
    expect((await memberWindows(ctx.sql, org.id, org.members[1]!.userId))!.day_used_micros).toBe(charged.A);
    expect((await memberWindows(ctx.sql, org.id, org.members[2]!.userId))!.month_used_micros).toBe(charged.B);
    // The organization: run dry to less than one call's worst case, never below zero, nothing held.
    expect(account.balance_micros).toBe(FUNDS - charged.A - charged.B - charged.C);
    expect(account.balance_micros).toBeGreaterThanOrEqual(0n);
    expect(account.balance_micros).toBeLessThan(WORST);
    expect(BigInt(counts.C!)).toBe(callsWithin(FUNDS - charged.A - charged.B)); // 256
    expect(account.held_micros).toBe(0n);
    // Every lease went back from its process: none was left to the cron's expiry with money on it.
    expect(swept).toEqual({ leases: 0, micros: 0n });
    expect(await checkLedgerInvariants(ctx.sql)).toEqual([]);
  });
});

/**
 * Stands every session of this stack's PostgreSQL (the platform's pool included) at `moment` (null: the real clock
 * again): tollgate_now() reads the setting tollgate.now (supabase/schemas/05.tollgate_now.sql), here set in the
 * server's configuration and reloaded, which each session applies before its next command. The cluster is this
 * file's own (embedded, .data/pg-gateway-orgs).
 */
async function standAt(moment: string | null) {
  if (moment !== null && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(moment))
    throw new Error(`standAt: ${moment} is not a UTC moment`);
  const admin = createClient({ url: ctx.stack.databaseUrl, max: 1 });
  try {
    // PostgreSQL 15 sets only a parameter its session knows in the configuration: this SET makes it known.
    await admin.unsafe("set tollgate.now = ''");
    await admin.unsafe(
      moment === null ? "alter system reset tollgate.now" : `alter system set tollgate.now = '${moment}'`,
    );
    await admin.unsafe("select pg_reload_conf()");
  } finally {
    await admin.end();
  }
  const deadline = Date.now() + 5_000;
  for (;;) {
    const [row] = await ctx.sql<{ at: Date }[]>`select tollgate_now() as at`;
    const at = row!.at.getTime();
    if (moment === null ? Math.abs(at - Date.now()) < 60_000 : at === Date.parse(moment)) break;
    if (Date.now() > deadline) throw new Error(`the database did not stand at ${moment ?? "the real clock"}`);
    await sleep(50);
  }
  await sleep(200); // every backend has had its reload signal by now
}

// The injected clock moves the platform's server configuration: only on this file's own embedded cluster, never on a
// server other runs share (TEST_DATABASE_URL).
const OWN_CLUSTER = !process.env.TEST_DATABASE_URL;
// A run stopped before it put the clock back left it in the cluster's configuration: the real clock first.
beforeAll(async () => {
  if (OWN_CLUSTER) await standAt(null);
});

describe.skipIf(!OWN_CLUSTER)(
  "caps across a UTC midnight and a month end (the injected clock, moved while calls flow)",
  () => {
    afterAll(() => standAt(null));

    it("a day's cap starts again after midnight, a month's after the month's end; nothing lost or charged twice", {
      timeout: 400_000,
    }, async () => {
      const CAP_A = 40_000n; // a day's
      const CAP_B = 60_000n; // a month's
      // Ample: the caps, not the balance or what C's leases hold of it, are what this test moves across midnight.
      const FUNDS = 20_000_000n;
      const CAP_DAY = capRefusal("today", CAP_A);
      const CAP_MONTH = capRefusal("this month", CAP_B);
      // The last two days of the month after next (any date the test runs on: prices are in force, nothing is
      // seeded there), and the first of the month after it.
      const today = new Date();
      const next = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 3, 1); // the first of month M + 1
      const DAY = 86_400_000;
      const at = (ms: number) => new Date(ms).toISOString();
      const T1 = at(next - DAY - 10_000); // day D (M's last but one), 23:59:50
      const T2 = at(next - DAY + 10_000); // day D + 1 (M's last), 00:00:10
      const T3 = at(next - 10_000); // D + 1, 23:59:50
      const T4 = at(next + 10_000); // the first of M + 1, 00:00:10
      const dayOf = (iso: string) => iso.slice(0, 10);
      const monthOf = (iso: string) => `${iso.slice(0, 7)}-01`;

      const org = await createTestOrganization(ctx.sql, {
        pepper: TEST_KEY_PEPPER,
        balanceMicros: FUNDS,
        members: [
          { role: "owner", keys: 2 }, // C
          { role: "member", dailyCapMicros: CAP_A, keys: 2 }, // A
          { role: "member", monthlyCapMicros: CAP_B, keys: 2 }, // B
        ],
      });
      const names = ["C", "A", "B"];
      const targets = names.map((_, i) => clientsOf(org, i));
      const outcomes: (Outcome & { moment: string })[] = [];
      let moment = T1;
      const record = (o: Outcome) => outcomes.push({ ...o, moment });
      const total = () => served(outcomes);
      const refused = (o: Outcome) => o.status !== 200;

      /**
       * `size` calls spread over every member's keys and both processes, 12 at a time; with `move`, the calls from
       * the move.after-th on start only once the clock stands at move.to, while the ones before are still in flight.
       */
      async function wave(size: number, move?: { after: number; to: string }) {
        const jobs = Array.from({ length: size }, (_, i) => {
          const m = i % names.length;
          const t = targets[m]!;
          return { name: names[m]!, t: t[Math.floor(i / names.length) % t.length]! };
        });
        const outs: (Outcome & { moment: string })[] = [];
        let next = 0;
        let moving: Promise<void> | undefined;
        const worker = async () => {
          for (;;) {
            const i = next++;
            if (i >= jobs.length) return;
            if (move && i >= move.after) {
              moving ??= standAt(move.to).then(() => {
                moment = move.to;
              });
              await moving;
            }
            const startedIn = moment;
            const o = { ...(await callAs(jobs[i]!.name, jobs[i]!.t)), moment: startedIn };
            outcomes.push(o);
            outs.push(o);
          }
        };
        await Promise.all(Array.from({ length: 12 }, worker));
        // A process that asked to extend a lease the move had put past its validity is told it is closed and lets it
        // go: the cron's lease step releases it (settled).
        const account = await settled(org.accountId, total());
        expect(account).toMatchObject({ rows: total(), held_micros: 0n });
        return outs;
      }
      const topOff = (m: number) => untilRefused(names[m]!, targets[m]!, org.accountId, total, record);

      await standAt(T1);
      // Day D: A to its day cap, B to its month cap.
      const w1 = await wave(120);
      await topOff(1);
      await topOff(2);
      // Across midnight into D + 1 (same month): A's day starts again, B's month does not.
      const w2 = await wave(120, { after: 60, to: T2 });
      await topOff(1);
      const b2 = await topOff(2);
      expect(await settled(org.accountId, total())).toMatchObject({ rows: total(), held_micros: 0n });
      await standAt(T3);
      moment = T3;
      // Across the month's end: A's day and B's month start again.
      const w3 = await wave(120, { after: 60, to: T4 });
      await topOff(1);
      await topOff(2);
      const after = (w: typeof w2, to: string, name: string) =>
        w.filter((o) => o.moment === to && o.member === name);
      console.log(
        "across midnight and the month's end (3 waves of 120 calls, 12 at a time, then one at a time to each cap):",
        [w1, w2, w3].map((w) => Object.fromEntries(names.map((n) => [n, `${served(w, n)} served`]))),
        `after midnight: A ${served(after(w2, T2, "A"))} served, B ${after(w2, T2, "B").filter(refused).length} refused; after the month's end: A ${served(after(w3, T4, "A"))}, B ${served(after(w3, T4, "B"))} served`,
      );

      const rows = await usageOf(org.accountId);
      const of = (i: number) => rows.filter((r) => r.user_id === org.members[i]!.userId);
      // Nothing lost or charged twice: one exact charge per call served, each from a lease; C never refused.
      expect(rows).toHaveLength(total());
      expect(
        rows.every((r) => r.status === "success" && r.billing_status === "exact" && r.lease_id !== null),
      ).toBe(true);
      expect(rows.every((r) => r.revenue_micros === CHARGE)).toBe(true);
      expect(outcomes.filter((o) => o.member === "C" && refused(o))).toEqual([]);
      expect(of(0)).toHaveLength(served(outcomes, "C"));
      // A: each UTC day its money was reserved in holds its cap, to within one call's worst case.
      const aDays = windows(of(1), (r) => r.reserved_day);
      expect(aDays.map(([day]) => day).sort()).toEqual([dayOf(T1), dayOf(T2), dayOf(T4)]);
      for (const [, calls, charged] of aDays) {
        expect(charged).toBeLessThanOrEqual(CAP_A);
        expect(charged).toBeGreaterThan(CAP_A - WORST);
        expect(BigInt(calls)).toBe(callsWithin(CAP_A)); // 20
      }
      // B: each month holds its cap; after midnight within the month B stayed refused, naming the month.
      const bMonths = windows(of(2), (r) => r.reserved_month);
      expect(bMonths.map(([month]) => month).sort()).toEqual([monthOf(T1), monthOf(T4)]);
      for (const [, calls, charged] of bMonths) {
        expect(charged).toBeLessThanOrEqual(CAP_B);
        expect(charged).toBeGreaterThan(CAP_B - WORST);
        expect(BigInt(calls)).toBe(callsWithin(CAP_B)); // 30
      }
      expect(after(w2, T2, "B").every(refused)).toBe(true);
      expect(b2.every(refused)).toBe(true);
      // The calls that started after each move were served again: A after midnight, A and B after the month's end.
      expect(after(w2, T2, "A").some((o) => !refused(o))).toBe(true);
      expect(after(w3, T4, "A").some((o) => !refused(o))).toBe(true);
      expect(after(w3, T4, "B").some((o) => !refused(o))).toBe(true);
      // Every refusal named the cap that refused.
      expect(
        outcomes.filter((o) => o.member === "A" && refused(o)).every((o) => CAP_DAY.test(o.message)),
      ).toBe(true);
      expect(
        outcomes.filter((o) => o.member === "B" && refused(o)).every((o) => CAP_MONTH.test(o.message)),
      ).toBe(true);
      const account = await settled(org.accountId, total());
      expect(account).toEqual({ rows: total(), balance_micros: FUNDS - sum(rows), held_micros: 0n });
      // The members' counters now count the new day and month only, exactly their charges there.
      const aNow = of(1).filter((r) => r.reserved_day === dayOf(T4));
      const bNow = of(2).filter((r) => r.reserved_month === monthOf(T4));
      expect(await memberWindows(ctx.sql, org.id, org.members[1]!.userId)).toMatchObject({
        budget_day: dayOf(T4),
        day_used_micros: sum(aNow),
      });
      expect(await memberWindows(ctx.sql, org.id, org.members[2]!.userId)).toMatchObject({
        budget_month: monthOf(T4),
        month_used_micros: sum(bNow),
      });
      const [open] = await ctx.sql<{ n: number }[]>`
        select count(*)::int as n from leases where account_id = ${org.accountId} and status in ('open', 'closing')`;
      expect(open!.n).toBe(0);
      expect(await checkLedgerInvariants(ctx.sql)).toEqual([]);
    });
  },
);

describe("a member removed mid-traffic", () => {
  it("their keys are refused within the auth TTL, their leases go back, every call they made is charged once", {
    timeout: 180_000,
  }, async () => {
    const FUNDS = 50_000_000n;
    const org = await createTestOrganization(ctx.sql, {
      pepper: TEST_KEY_PEPPER,
      balanceMicros: FUNDS,
      members: [
        { role: "owner", keys: 2 }, // O: keeps calling
        { role: "member", keys: 2 }, // R: removed while calling
      ],
    });
    const ownerId = org.members[0]!.userId;
    const removed = org.members[1]!;
    const removedKeys = removed.keys.map((k) => k.id);
    const outcomes: Outcome[] = [];
    let stop = false;
    const loop = async (name: string, target: ReturnType<typeof clientsOf>[number]) => {
      while (!stop) {
        outcomes.push(await callAs(name, target));
        await sleep(20);
      }
    };
    const pairs = clientsOf(org, 1);
    const loops = [...clientsOf(org, 0).map((t) => loop("O", t)), ...pairs.map((t) => loop("R", t))];
    // Warm: every one of R's keys served in both processes, from an open lease.
    for (let waited = 0; waited < 20_000; waited += 100) {
      if (
        pairs.every((p) =>
          outcomes.some((o) => o.keyId === p.keyId && o.gateway === p.gateway && o.status === 200),
        )
      )
        break;
      await sleep(100);
    }
    await sleep(1_000);
    const [openRow] = await ctx.sql<{ n: number }[]>`
      select count(*)::int as n from leases where key_id = any(${removedKeys}) and status = 'open'`;
    const openBefore = openRow!.n;
    expect(openBefore).toBeGreaterThan(0);

    // The owner removes R: their organization keys revoked and their membership deleted, in one transaction.
    const result = await removeMember(
      ctx.sql,
      { userId: ownerId, kind: "user", role: "developer" },
      org.id,
      removed.userId,
    );
    const removedAt = Date.now();
    expect([...result.revokedKeyIds].sort()).toEqual([...removedKeys].sort());

    // Each of R's keys in each process: how long until the app was refused.
    const firstRefusal = (p: (typeof pairs)[number]) =>
      outcomes.find(
        (o) => o.keyId === p.keyId && o.gateway === p.gateway && o.startedAt >= removedAt && o.status === 401,
      );
    for (let waited = 0; waited < 20_000 && !pairs.every(firstRefusal); waited += 50) await sleep(50);
    const latencies = pairs.map((p) => (firstRefusal(p)?.endedAt ?? Number.POSITIVE_INFINITY) - removedAt);
    const refusedAfter = Math.max(...latencies);
    const servedAfter = outcomes.filter(
      (o) => o.member === "R" && o.startedAt >= removedAt && o.status === 200,
    );
    // Their leases go back while the owner keeps calling: nothing of R's held any more, the account holds exactly
    // what the owner's leases reserve.
    let returnedAfter = Number.POSITIVE_INFINITY;
    for (let waited = 0; waited < 20_000; waited += 100) {
      const [row] = await ctx.sql<{ live: number }[]>`
        select count(*)::int as live from leases where key_id = any(${removedKeys}) and status in ('open', 'closing')`;
      if (row!.live === 0) {
        returnedAfter = Date.now() - removedAt;
        break;
      }
      await sleep(100);
    }
    const [held] = await ctx.sql<{ held: bigint; owners: bigint; removed: bigint }[]>`
      select a.held_micros as held,
             (select coalesce(sum(l.reserved_micros), 0)::bigint from leases l
              where l.account_id = a.id and l.status in ('open', 'closing') and not l.key_id = any(${removedKeys})) as owners,
             (select coalesce(sum(l.reserved_micros), 0)::bigint from leases l
              where l.key_id = any(${removedKeys}) and l.status in ('open', 'closing')) as removed
      from accounts a where a.id = ${org.accountId}`;
    await sleep(1_000);
    stop = true;
    await Promise.all(loops);
    console.log(
      `member removed mid-traffic: refused after ${latencies.map((ms) => `${ms} ms`).join(", ")} (each key × process; auth TTL ${AUTH_TTL_SECONDS} s); ${servedAfter.length} calls served meanwhile; leases back after ${returnedAfter} ms; R ${served(outcomes, "R")} served, O ${served(outcomes, "O")} served`,
    );
    // Every key in every process refused in the end; no call of theirs sent later than the auth TTL after the removal
    // was served (plus the platform's answer to the last re-verification). Counted from when each served call was sent,
    // not from when a refusal came back: on a loaded 2-core machine a call may take long, and the next is sent late.
    expect(refusedAfter).toBeLessThan(Number.POSITIVE_INFINITY);
    const lastServedSent = Math.max(0, ...servedAfter.map((o) => o.startedAt - removedAt));
    expect(lastServedSent).toBeLessThan(AUTH_TTL_SECONDS * 1000 + 2_000);
    expect(returnedAfter).toBeLessThan(AUTH_TTL_SECONDS * 1000 + 5_000);
    expect(held).toEqual({ held: held!.owners, owners: held!.owners, removed: 0n });
    // Once refused, refused for good; said as a revoked key.
    for (const p of pairs) {
      const from = firstRefusal(p)!.startedAt;
      const later = outcomes.filter(
        (o) => o.keyId === p.keyId && o.gateway === p.gateway && o.startedAt >= from,
      );
      expect(later.every((o) => o.status === 401)).toBe(true);
    }
    expect(
      outcomes
        .filter((o) => o.member === "R" && o.status !== 200)
        .every((o) => /^401 .*revoked/.test(o.message)),
    ).toBe(true);
    expect(outcomes.filter((o) => o.member === "O" && o.status !== 200)).toEqual([]);

    // Nothing lost: every call either made that was answered is charged once, exactly.
    const account = await settled(org.accountId, served(outcomes));
    const rows = await usageOf(org.accountId);
    expect(rows).toHaveLength(served(outcomes));
    expect(rows.filter((r) => r.user_id === removed.userId)).toHaveLength(served(outcomes, "R"));
    expect(
      rows.every(
        (r) => r.status === "success" && r.billing_status === "exact" && r.revenue_micros === CHARGE,
      ),
    ).toBe(true);
    expect(account).toEqual({ rows: served(outcomes), balance_micros: FUNDS - sum(rows), held_micros: 0n });
    const leases = await ctx.sql<{ status: string; reserved_micros: bigint }[]>`
      select status, reserved_micros from leases where key_id = any(${removedKeys})`;
    expect(leases.every((l) => l.status === "closed" && l.reserved_micros === 0n)).toBe(true);
    expect(await memberWindows(ctx.sql, org.id, removed.userId)).toBeNull();
    expect(swept).toEqual({ leases: 0, micros: 0n });
    expect(await checkLedgerInvariants(ctx.sql)).toEqual([]);
  });
});
