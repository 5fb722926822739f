// sim:day scaled down (issue 27, part 7): 20,000 calls of one simulated UTC day pushed through the real signed
// webhook route of `next start` (every call kind, failures, cut streams, leases, holds, lost webhooks, batches out
// of order and replayed), the day settled through the queue as cron runs it, the dashboard read on the result. What
// a user would notice: every call charged exactly once (replays change nothing), the books exact, the day closed,
// and the dashboard's figures equal to an independent SQL sum over the events.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { overview } from "@/lib/analytics/overview";
import { listRequests } from "@/lib/analytics/requests";
import { resolveRange, usageTotals } from "@/lib/analytics/usage";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import type { Sql } from "@/lib/db/client";
import { keyClass, runSimDay, SIM_DAY, type SimDayResult, simEvent } from "@/sim/day";

const EVENTS = 20_000;
const KEYS = 2_000;
const SYSTEM = { userId: null, kind: "system" as const };

describe("sim:day, scaled down", () => {
  it("charges every call of the day once, closes the day, and the dashboard agrees with the events", async () => {
    let checked = false;
    const result = await runSimDay(
      {
        events: EVENTS,
        keys: KEYS,
        orgs: 40,
        persons: 1_000,
        stateDir: path.resolve(".data/sim-day-test"),
        pgPort: 25732,
        appPort: 3331,
        concurrency: 2,
        fresh: true,
        fastDurability: true,
        reads: 3,
        log: () => {},
      },
      async (sql: Sql, r: SimDayResult) => {
        // Every generated call is one usage row, whatever was sent twice or out of order; so is each held call whose
        // webhook was lost (the settlement replays it from the gateway's outbox).
        expect(r.stats.sent).toBe(EVENTS);
        expect(r.stats.replays).toBeGreaterThan(0);
        expect(r.stats.replayChanged).toBe(0);
        expect(r.stats.unknownKeys).toBe(0);
        expect(r.stats.inserted).toBe(EVENTS);
        const [rows] = await sql<
          { n: number; calls: number; failures: number; cut: number; kinds: number }[]
        >`
          select count(*)::int as n, count(distinct (key_id, call_id))::int as calls,
                 count(*) filter (where status = 'failure')::int as failures,
                 count(*) filter (where status = 'cut')::int as cut, count(distinct kind)::int as kinds
          from usage_events`;
        expect(r.lostHolds).toBeGreaterThan(0);
        expect(rows).toMatchObject({ n: EVENTS + r.lostHolds, calls: EVENTS + r.lostHolds, kinds: 8 });
        expect(rows!.failures).toBeGreaterThan(EVENTS * 0.01);
        expect(rows!.failures).toBeLessThan(EVENTS * 0.03);
        expect(rows!.cut).toBeGreaterThan(0);
        // A sample of calls, each stored as generated.
        for (const i of [0, 1, 4_999, 12_345, EVENTS - 1]) {
          const e = simEvent(i, EVENTS, KEYS, SIM_DAY);
          const [row] = await sql<{ status: string; kind: string; lease: boolean; hold: boolean }[]>`
            select status, kind, lease_id is not null as lease, hold_id is not null as hold
            from usage_events where call_id = ${e.callId}`;
          expect(row).toEqual({
            status: e.status,
            kind: e.kind,
            lease: keyClass(e.keyIndex, KEYS) === "lease",
            hold: keyClass(e.keyIndex, KEYS) === "hold",
          });
        }
        // Charged once: the charges in the ledger are the usage rows' revenue, to the micro-dollar.
        const [money] = await sql<{ revenue: bigint; charged: bigint }[]>`
          select (select sum(revenue_micros) from usage_events)::bigint as revenue,
                 (select -sum(e.amount_micros) from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
                  join accounts a on a.id = e.account_id where t.kind = 'charge' and a.kind <> 'system')::bigint as charged`;
        expect(money!.revenue).toBeGreaterThan(0n);
        expect(money!.charged).toBe(money!.revenue);
        expect(await checkLedgerInvariants(sql)).toEqual([]);
        // The day is closed: its run completed clean, no hold or lease of it left open.
        const [run] = await sql<{ status: string; invariant_violations: number; holds_replayed: number }[]>`
          select status, invariant_violations, holds_replayed from settlement_runs where id = ${r.settlement.runId}`;
        expect(run).toEqual({ status: "completed", invariant_violations: 0, holds_replayed: r.lostHolds });
        const [open] = await sql<{ holds: number; leases: number }[]>`
          select (select count(*) from holds where status = 'open')::int as holds,
                 (select count(*) from leases where status in ('open', 'closing'))::int as leases`;
        expect(open).toEqual({ holds: 0, leases: 0 });
        const [rolled] = await sql<{ requests: number; revenue: bigint }[]>`
          select sum(requests)::int as requests, sum(revenue_micros)::bigint as revenue
          from usage_rollups where day = ${SIM_DAY}`;
        expect(rolled).toEqual({ requests: EVENTS + r.lostHolds, revenue: money!.revenue });
        // The dashboard on the result equals an independent sum over the events: the day, and 30 days of which 29
        // are synthesized copies of it.
        const [sums] = await sql<{ calls: number; failures: number; revenue: bigint; tokens: bigint }[]>`
          select count(*)::int as calls, count(*) filter (where status = 'failure')::int as failures,
                 sum(revenue_micros)::bigint as revenue, sum(prompt_tokens)::bigint as tokens
          from usage_events
          where started_at >= ${SIM_DAY}::date and started_at < ${SIM_DAY}::date + 1`;
        const day = resolveRange({ from: SIM_DAY, to: SIM_DAY });
        const totals = await usageTotals(sql, SYSTEM, { from: SIM_DAY, to: SIM_DAY }, day);
        expect(totals).toMatchObject({
          calls: sums!.calls,
          failures: sums!.failures,
          revenueMicros: sums!.revenue,
          tokensIn: sums!.tokens,
        });
        const dayEnd = new Date(Date.parse(`${SIM_DAY}T00:00:00Z`) + 86_400_000 - 1000);
        const o = await overview(sql, SYSTEM, dayEnd);
        expect(o.today.calls).toBe(sums!.calls);
        expect(o.today.revenueMicros).toBe(sums!.revenue);
        expect(o.last30Days.calls).toBe(sums!.calls * 30);
        expect(o.last30Days.revenueMicros).toBe(sums!.revenue * 30n);
        const page = await listRequests(sql, SYSTEM, { from: SIM_DAY, to: SIM_DAY, limit: 50 });
        expect(page.items).toHaveLength(50);
        expect(page.nextCursor).not.toBeNull();
        checked = true;
      },
    );
    expect(checked).toBe(true);
    expect(result.reads).toHaveLength(5);
    expect(result.settlement.seconds).toBeGreaterThan(0);
  }, 240_000);
});
