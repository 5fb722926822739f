// A charge above its reservation, through the real gateway (billing contract, clauses 45–46). Reservations bound
// every call Tollgate can see; the fake upstream's fake-overbill stands for a provider that bills past any bound
// (it reports 1,000 times the prompt it was sent). Such a charge is taken, recorded as an overrun and alarmed; the
// lease that served it stops at once, and an account left in deficit gets no further call: the deficit is at most
// what the calls already in flight were charged above their draws.
import { beforeAll, describe, expect, it } from "vitest";
import { evaluateAlerts } from "@/lib/analytics/alerts";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { priceTokens } from "../helpers/price";
import { addTestModels, balanceOf, customer, failure, startGatewayStack, usageRowsOf } from "./helpers";

const ctx = startGatewayStack("gateway-deficit", { app: 3213, pg: 25453, litellm: 4123, upstream: 4133 });
const PRICE = { input: 500_000n, output: 1_500_000n };

beforeAll(() => addTestModels(ctx, ["fake-overbill"]));

interface Row {
  call_id: string;
  prompt_tokens: number;
  completion_tokens: number;
  revenue_micros: bigint;
  draw_micros: bigint;
  overrun_micros: bigint;
  lease_id: string;
  started_at: Date;
  received_at: Date;
}

async function rowsOf(keyId: string, count: number) {
  await usageRowsOf(ctx, keyId, count, 30_000);
  return ctx.sql<Row[]>`
    select call_id, prompt_tokens, completion_tokens, revenue_micros, draw_micros, overrun_micros, lease_id,
           started_at, received_at
    from usage_events where key_id = ${keyId} order by id`;
}

const ask = (client: Awaited<ReturnType<typeof customer>>["client"], i: number) =>
  client.chat.completions.create({
    model: "fake-overbill",
    messages: [{ role: "user", content: `hello there, call ${i}` }],
    max_tokens: 16,
  });

describe("a provider billing past the reservation", () => {
  it("is charged and recorded as an overrun; the account in deficit is refused its next call (402)", async () => {
    const c = await customer(ctx, 3_000n);
    await ask(c.client, 0);
    const [row] = await rowsOf(c.id, 1);
    const charge = priceTokens({ input: row!.prompt_tokens, output: row!.completion_tokens }, PRICE);
    expect(row!.revenue_micros).toBe(charge);
    // The draw bounded everything the request held; the upstream reported 1,000 times its prompt.
    expect(row!.draw_micros).toBeLessThan(charge);
    expect(row!.overrun_micros).toBe(charge - row!.draw_micros);
    const [lease] = await ctx.sql<{ overrun_micros: bigint }[]>`
      select overrun_micros from leases where id = ${row!.lease_id}`;
    expect(lease!.overrun_micros).toBe(charge - row!.draw_micros);
    // The charge is taken in full: the account is in deficit by what the balance did not cover.
    expect((await balanceOf(ctx, c.accountId)).balance_micros).toBe(3_000n - charge);
    // Its next call is refused: nothing is drawn for an account below zero.
    const refused = await failure(ask(c.client, 1));
    expect(refused?.status).toBe(402);
    expect(refused?.message).toMatch(/Insufficient balance/);
    expect(await rowsOf(c.id, 1)).toHaveLength(1);
    expect(await checkLedgerInvariants(ctx.sql)).toEqual([]);
  });

  it("is alarmed: the platform's overrun rule opens an episode with the micro-USD charged above reservations", async () => {
    await evaluateAlerts(ctx.sql, new Date(Date.now() + 1_000));
    const [episode] = await ctx.sql<{ value: bigint }[]>`
      select e.value from alert_episodes e join alert_rules r on r.id = e.rule_id
      where r.metric = 'overrun' and e.cleared_at is null`;
    const [sum] = await ctx.sql<{ total: bigint }[]>`
      select coalesce(sum(overrun_micros), 0)::bigint as total from usage_events`;
    expect(sum!.total).toBeGreaterThan(0n);
    expect(episode?.value).toBe(sum!.total);
  });

  it("8 at a time on a small balance: once in deficit no call is served; the deficit is at most the calls in flight", async () => {
    const concurrency = 8;
    const c = await customer(ctx, 60_000n);
    let next = 0;
    const statuses: number[] = [];
    const worker = async () => {
      while (next < 48) {
        const i = next++;
        const failed = await failure(ask(c.client, i));
        statuses.push(failed?.status ?? 200);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const served = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 402)).toEqual([]);
    const rows = await rowsOf(c.id, served);
    expect(rows).toHaveLength(served);
    const maxCharge =
      rows
        .map((r) => r.revenue_micros)
        .sort((a, b) => Number(a - b))
        .at(-1) ?? 0n;
    // Without the stop every call is served (48 × ~4,500 µ$ on 60,000). With it, the calls served are what the
    // balance covered plus at most the ones in flight when the deficit was found.
    const covered = Number(60_000n / maxCharge) + 1;
    expect(served).toBeLessThanOrEqual(covered + concurrency);
    const balance = (await balanceOf(ctx, c.accountId)).balance_micros;
    expect(balance).toBeGreaterThanOrEqual(-BigInt(concurrency) * maxCharge);
    // No call started after its account's deficit was settled (plus a delivery's round trip) was served.
    const deficitAt = rows.reduce<Date | null>((found, r, i) => {
      if (found) return found;
      const spent = rows.slice(0, i + 1).reduce((s, x) => s + x.revenue_micros, 0n);
      return spent > 60_000n ? r.received_at : null;
    }, null);
    if (deficitAt) {
      const late = rows.filter((r) => r.started_at.getTime() > deficitAt.getTime() + 1_000);
      expect(late.map((r) => r.call_id)).toEqual([]);
    }
    expect(await checkLedgerInvariants(ctx.sql)).toEqual([]);
    console.log(
      `[deficit] served ${served} of 48 (balance covered ${covered - 1}); final balance ${balance} µ$ ` +
        `(bound −${BigInt(concurrency) * maxCharge})`,
    );
  });
});
