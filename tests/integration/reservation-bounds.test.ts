// A reservation is an upper bound of its charge (billing contract, clauses 44–46), on real PostgreSQL with the
// numbers: a model is held only on the routes its price bills; a charge above its reservation is recorded, alarmed
// and, on a lease, paid from the lease's reservation first; an account left in deficit is named to the gateway,
// changes its keys' lease epoch and gets no further lease money or hold.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { evaluateAlerts } from "@/lib/analytics/alerts";
import { placeHold } from "@/lib/billing/hold";
import { grantLease } from "@/lib/billing/leases";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { hashKey } from "@/lib/keys/secret";
import { verifyKey } from "@/lib/keys/verify";
import { accountOf, event, insertKey, PRICE, seedPricedModel, topUp } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { priceTokens } from "../helpers/price";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
let adminId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await seedPricedModel(sql);
  // An image model: priced per image only (its token rates are 0).
  const [image] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values ('fake-image', 'fake-image', 'fake', 4096, 16) returning id`;
  await sql`insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros,
                                        input_price_micros, output_price_micros, image_cost_micros, image_price_micros)
            values (${image!.id}, now() - interval '3 days', 0, 0, 0, 0, 20000, 40000)`;
});

async function customer(balance: bigint) {
  const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
  const keyId = await insertKey(sql, userId);
  const account = await accountOf(sql, userId);
  if (balance > 0n) await topUp(sql, adminId, account.id, balance);
  return { userId, keyId, accountId: account.id };
}

async function money(accountId: string) {
  const [row] = await sql<{ balance: bigint; held: bigint }[]>`
    select balance_micros as balance, held_micros as held from accounts where id = ${accountId}`;
  return row!;
}

const grant = (keyId: string, want: bigint, min = 0n) =>
  grantLease(
    sql,
    {
      leaseId: randomUUID(),
      keyId,
      processId: "proc-1",
      nonce: randomUUID(),
      wantMicros: want,
      minMicros: min,
    },
    { ttlSeconds: 60 },
  );

const hold = (keyId: string, model: string, kind: string, extra: Record<string, unknown> = {}) =>
  placeHold(sql, {
    keyId,
    callId: randomUUID(),
    nonce: randomUUID(),
    model,
    promptTokens: 10,
    maxOutputTokens: 10,
    kind,
    ...extra,
  });

describe("route ↔ unit (clause 44)", () => {
  it("holds a model only on the routes whose unit its price charges; free on purpose lifts it", async () => {
    const c = await customer(1_000_000n);
    // An image model through chat would be served for nothing.
    await expect(hold(c.keyId, "fake-image", "chat")).rejects.toMatchObject({
      code: "forbidden",
      message: expect.stringContaining("not sold for chat calls"),
    });
    await expect(hold(c.keyId, "fake-image", "embedding")).rejects.toMatchObject({ code: "forbidden" });
    const image = await hold(c.keyId, "fake-image", "image", {
      units: { image: 2 },
      maxOutputTokens: 0,
      promptTokens: 0,
    });
    expect(image.amountMicros).toBe(80_000n);
    // A token model on the image, speech and transcription routes: its price charges nothing there.
    for (const kind of ["image", "speech", "transcription"])
      await expect(hold(c.keyId, "fake-small", kind)).rejects.toMatchObject({ code: "forbidden" });
    expect((await hold(c.keyId, "fake-small", "responses")).amountMicros).toBe(
      priceTokens({ input: 10, output: 10 }, PRICE),
    );
    // The lease's prices carry the same rule for the gateway's draws.
    const lease = await grant(c.keyId, 10_000n);
    const kinds = Object.fromEntries(lease.prices.map((p) => [p.model, p.kinds]));
    expect(kinds["fake-image"]).toEqual(["image"]);
    expect(kinds["fake-small"]).toEqual(["chat", "completion", "responses", "messages", "embedding"]);
    // Marked free on purpose, the image model is served (at nothing) on every route.
    await sql`update models set free = true where public_name = 'fake-image'`;
    try {
      expect((await hold(c.keyId, "fake-image", "chat")).amountMicros).toBe(0n);
    } finally {
      await sql`update models set free = false where public_name = 'fake-image'`;
    }
  });

  it("counts a prompt at most at the model's context window", async () => {
    const c = await customer(100_000_000n);
    const held = await hold(c.keyId, "fake-small", "chat", { promptTokens: 5_000_000, maxOutputTokens: 1 });
    expect(held.amountMicros).toBe(priceTokens({ input: 16_384, output: 1 }, PRICE));
  });
});

describe("a charge above its reservation (clauses 45–46)", () => {
  it("on a lease: comes off the lease's reservation first, is recorded on the call and answered", async () => {
    const c = await customer(1_000_000n);
    const lease = await grant(c.keyId, 100_000n);
    const reserved = lease.grantedMicros;
    const before = await money(c.accountId);
    const charge = priceTokens({ input: 1_000, output: 500 }, PRICE);
    const draw = 100n;
    const result = await settleUsage(sql, [
      event(c.keyId, "over-1", {
        leaseId: lease.leaseId,
        drawMicros: draw,
        promptTokens: 1_000,
        completionTokens: 500,
      }),
    ]);
    expect(result.overrunCalls).toBe(1);
    expect(result.overrunMicros).toBe(charge - draw);
    expect(result.leaseOverruns).toEqual([{ leaseId: lease.leaseId, overrunMicros: Number(charge - draw) }]);
    expect(result.deficitKeyIds).toEqual([]);
    const [row] = await sql<{ overrun_micros: bigint; revenue_micros: bigint }[]>`
      select overrun_micros, revenue_micros from usage_events where call_id = 'over-1'`;
    expect(row).toEqual({ overrun_micros: charge - draw, revenue_micros: charge });
    const [l] = await sql<{ reserved_micros: bigint; overrun_micros: bigint }[]>`
      select reserved_micros, overrun_micros from leases where id = ${lease.leaseId}`;
    // The lease went down by the charge, not the draw: the excess was paid from money already reserved, so the
    // available balance did not move and nothing went unreserved.
    expect(l).toEqual({ reserved_micros: reserved - charge, overrun_micros: charge - draw });
    const after = await money(c.accountId);
    expect(after).toEqual({ balance: before.balance - charge, held: before.held - charge });
    expect(after.balance - after.held).toBe(before.balance - before.held);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("on a hold: the excess is recorded on the call", async () => {
    const c = await customer(1_000_000n);
    const placed = await hold(c.keyId, "fake-small", "chat");
    const callId = (
      await sql<{ call_id: string }[]>`select call_id from holds where id = ${placed.holdId}`
    )[0]!.call_id;
    const charge = priceTokens({ input: 2_000, output: 10 }, PRICE);
    const result = await settleUsage(sql, [
      event(c.keyId, callId, { promptTokens: 2_000, completionTokens: 10 }),
    ]);
    expect(result.overrunMicros).toBe(charge - placed.amountMicros);
    expect(result.leaseOverruns).toEqual([]);
  });

  it("a failure then a better outcome (clause 9): the new charge above the reservation is recorded too", async () => {
    const c = await customer(1_000_000n);
    const placed = await hold(c.keyId, "fake-small", "chat");
    const [holdRow] = await sql<{ call_id: string }[]>`select call_id from holds where id = ${placed.holdId}`;
    const callId = holdRow!.call_id;
    await settleUsage(sql, [
      event(c.keyId, callId, { status: "failure", promptTokens: 0, completionTokens: 0 }),
    ]);
    const charge = priceTokens({ input: 3_000, output: 10 }, PRICE);
    await settleUsage(sql, [event(c.keyId, callId, { promptTokens: 3_000, completionTokens: 10 })]);
    const [row] = await sql<{ status: string; revenue_micros: bigint; overrun_micros: bigint }[]>`
      select status, revenue_micros, overrun_micros from usage_events where call_id = ${callId}`;
    expect(row).toEqual({
      status: "success",
      revenue_micros: charge,
      overrun_micros: charge - placed.amountMicros,
    });
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("an account left in deficit names its keys, changes their lease epoch and gets no lease money or hold", async () => {
    const pepper = "p".repeat(32);
    const c = await customer(0n);
    const secret = `tg_${randomUUID().replaceAll("-", "")}`;
    const [second] = await sql<{ id: string }[]>`
      insert into api_keys (user_id, name, prefix, key_hash) values (${c.userId}, 'second', ${secret.slice(0, 10)},
      ${hashKey(secret, pepper)}) returning id`;
    await topUp(sql, adminId, c.accountId, 1_000n);
    const epoch = async () => {
      const v = await verifyKey(sql, secret, pepper);
      if (!v.valid) throw new Error(v.message);
      return v.key.leaseEpoch;
    };
    const healthy = await epoch();
    const lease = await grant(c.keyId, 1_000n);
    const charge = priceTokens({ input: 10_000, output: 1_000 }, PRICE);
    const result = await settleUsage(sql, [
      event(c.keyId, "deficit-1", {
        leaseId: lease.leaseId,
        drawMicros: 50n,
        promptTokens: 10_000,
        completionTokens: 1_000,
      }),
    ]);
    expect(result.deficitKeyIds.sort()).toEqual([c.keyId, second!.id].sort());
    const after = await money(c.accountId);
    // The lease's whole reservation paid part of it; the rest is the deficit the contract bounds.
    expect(after.held).toBe(0n);
    expect(after.balance).toBe(1_000n - charge);
    expect(await epoch()).not.toBe(healthy);
    // The statements that reserve money refuse it: a lease grant of one call's worth and a hold.
    await expect(grant(second!.id, 1_000n, 10n)).rejects.toMatchObject({ code: "insufficient_balance" });
    expect((await grant(second!.id, 1_000n, 0n)).grantedMicros).toBe(0n);
    await expect(hold(second!.id, "fake-small", "chat")).rejects.toMatchObject({
      code: "insufficient_balance",
    });
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("is alarmed: the platform rule on reservation overruns opens an episode", async () => {
    const episodes = async () =>
      (
        await sql<{ n: number }[]>`
          select count(*)::int as n from alert_episodes e join alert_rules r on r.id = e.rule_id
          where r.metric = 'overrun' and e.cleared_at is null`
      )[0]!.n;
    // The tests above charged calls above their reservations a moment ago.
    const summary = await evaluateAlerts(sql, new Date(Date.now() + 1_000));
    expect(summary.opened).toBeGreaterThanOrEqual(1);
    expect(await episodes()).toBe(1);
    const [episode] = await sql<{ value: bigint; severity: string }[]>`
      select e.value, e.severity from alert_episodes e join alert_rules r on r.id = e.rule_id
      where r.metric = 'overrun'`;
    const [sum] = await sql<
      { total: bigint }[]
    >`select sum(overrun_micros)::bigint as total from usage_events`;
    expect(episode!.value).toBe(sum!.total);
    expect(episode!.severity).toBe(sum!.total >= 1_000_000n ? "critical" : "warning");
  });
});
