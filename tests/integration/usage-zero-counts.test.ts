// A usage row stores a zero count, and the platform's credential, as null (docs/adr/0033): the bytes a call takes go
// down, and nothing anyone reads changes — the request log (and its credential filter), a call's detail, an account's
// usage, the roll-ups and the lease's counters read null as 0 or 'platform', beside rows written before the change.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { listRequests, requestDetail } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import { listUsage } from "@/lib/billing/accounts";
import { grantLease } from "@/lib/billing/leases";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { ensureUsagePartitions } from "@/lib/usage/partitions";
import { ADMIN_ACTOR, event, fundedCustomer, seedPricedModel } from "../helpers/billing";
import { callIdAt } from "../helpers/call-ids";
import { createTestDatabase } from "../helpers/db";
import { dayPartition } from "../helpers/partitions";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
await seedPricedModel(sql);

/** The eight counts a row stores as null when zero, as stored. */
const COUNTS = [
  "cached_tokens",
  "cache_write_tokens",
  "reasoning_tokens",
  "images",
  "audio_ms",
  "characters",
  "overrun_micros",
  "reported_cost_micros",
] as const;

async function stored(callId: string) {
  const [row] = await sql<
    Record<(typeof COUNTS)[number] | "credential" | "size", number | bigint | string | null>[]
  >`
    select ${sql(COUNTS as unknown as string[])}, credential, pg_column_size(e.*) as size from usage_events e
    where call_id = ${callId}`;
  return row!;
}

/** A lease for the key, and what its calls name: each drew 500,000 micro-USD, far above what it is charged. */
async function servedFromLease(keyId: string) {
  const lease = await grantLease(
    sql,
    {
      leaseId: randomUUID(),
      keyId,
      processId: "p",
      nonce: randomUUID(),
      wantMicros: 5_000_000n,
      minMicros: 0n,
    },
    { ttlSeconds: 60 },
  );
  return { leaseId: lease.leaseId, drawMicros: 500_000n };
}

/** What a person reading the request log sees of a call's counts. */
const shown = (r: {
  cachedTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  images: number;
  audioMs: number;
  characters: number;
}) => [r.cachedTokens, r.cacheWriteTokens, r.reasoningTokens, r.images, r.audioMs, r.characters];

describe("zero counts stored as null", () => {
  it("a platform call with no cache, reasoning or units stores none of them, and reads like a row written before", async () => {
    const c = await fundedCustomer(sql, adminId, "zeros@example.com");
    const served = await servedFromLease(c.keyId);
    const now = Date.now() - 60_000;
    const [lean, cached] = [callIdAt(now), callIdAt(now + 1)];
    const at = new Date(now).toISOString();
    await settleUsage(sql, [
      event(c.keyId, lean, { ...served, startedAt: at, endedAt: at }),
      event(c.keyId, cached, {
        ...served,
        credential: "byok",
        credentialId: null,
        startedAt: at,
        endedAt: at,
        cachedTokens: 40,
        reasoningTokens: 7,
        reportedCostMicros: 9,
      }),
    ]);
    const row = await stored(lean);
    expect([...COUNTS, "credential" as const].map((k) => row[k])).toEqual([...COUNTS, 0].map(() => null));
    const other = await stored(cached);
    expect([
      other.cached_tokens,
      other.reasoning_tokens,
      other.reported_cost_micros,
      other.images,
      other.credential,
    ]).toEqual([40, 7, 9n, null, "byok"]);

    const admin = ADMIN_ACTOR(adminId);
    const range = {
      from: new Date(now - 3_600_000).toISOString(),
      to: new Date(now + 3_600_000).toISOString(),
    };
    const log = async (credential?: "platform" | "byok") =>
      (
        await listRequests(
          sql,
          admin,
          requestLogQuery.parse({ ...range, keyId: c.keyId, credential, limit: 50 }),
        )
      ).items;
    const before = await log();
    expect(before.map((r) => [r.callId, r.credential, ...shown(r)]).sort()).toEqual(
      [
        [lean, "platform", 0, 0, 0, 0, 0, 0],
        [cached, "byok", 40, 0, 7, 0, 0, 0],
      ].sort(),
    );
    const byCredential = async () => [
      (await log("platform")).map((r) => r.callId),
      (await log("byok")).map((r) => r.callId),
    ];
    expect(await byCredential()).toEqual([[lean], [cached]]);
    const leanRow = before.find((r) => r.callId === lean)!;
    const detail = await requestDetail(sql, admin, leanRow.id, at.slice(0, 10));
    expect([...shown(detail), detail.reportedCostMicros]).toEqual([0, 0, 0, 0, 0, 0, 0n]);
    const usage = await listUsage(sql, admin, c.accountId, { page: 1, pageSize: 10 });
    expect(usage.items.map((u) => [u.callId, u.images, u.audioMs, u.characters]).sort()).toEqual(
      [
        [lean, 0, 0, 0],
        [cached, 0, 0, 0],
      ].sort(),
    );

    // The same call as a row written before the change (its zeros and 'platform' stored): 8 bytes for each bigint,
    // 4 for each integer and 9 for 'platform' more; everything read from it the same.
    await sql`update usage_events set ${sql({ ...Object.fromEntries(COUNTS.map((k) => [k, 0])), credential: "platform" })}
              where call_id = ${lean}`;
    const zeros = await stored(lean);
    expect(Number(zeros.size) - Number(row.size)).toBeGreaterThanOrEqual(5 * 4 + 3 * 8 + 9);
    expect(await log()).toEqual(before);
    expect(await byCredential()).toEqual([[lean], [cached]]);
    expect(await requestDetail(sql, admin, leanRow.id, at.slice(0, 10))).toEqual(detail);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("the hourly roll-up sums null counts as 0, as it sums zeros, and takes a row out the same way", async () => {
    const c = await fundedCustomer(sql, adminId, "rollup@example.com");
    const served = await servedFromLease(c.keyId);
    // An hour of its own, two days back: nothing else rolls up into it.
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 48 * 3_600_000;
    const ids = [callIdAt(hour + 1_000), callIdAt(hour + 2_000)];
    const at = (ms: number) => ({
      ...served,
      startedAt: new Date(ms).toISOString(),
      endedAt: new Date(ms).toISOString(),
    });
    await settleUsage(sql, [
      event(c.keyId, ids[0]!, { ...at(hour + 1_000), status: "cut" }),
      event(c.keyId, ids[1]!, at(hour + 2_000)),
    ]);
    const rolled = () => sql<{ calls: bigint; images: bigint; audio_ms: bigint; characters: bigint }[]>`
      select sum(calls)::bigint as calls, sum(images)::bigint as images, sum(audio_ms)::bigint as audio_ms,
             sum(characters)::bigint as characters
      from usage_hourly where hour = ${new Date(hour)} and model_group = 'fake-small'`;
    expect(await rolled()).toEqual([{ calls: 2n, images: 0n, audio_ms: 0n, characters: 0n }]);
    // The cut call's success upgrades its row (an UPDATE: the roll-up takes the old row out, the new one in).
    const upgraded = await settleUsage(sql, [
      event(c.keyId, ids[0]!, { ...at(hour + 1_000), reasoningTokens: 0 }),
    ]);
    expect(upgraded.upgraded).toBe(1);
    expect(await rolled()).toEqual([{ calls: 2n, images: 0n, audio_ms: 0n, characters: 0n }]);
    const row = await stored(ids[0]!);
    expect([row.reasoning_tokens, row.images, row.overrun_micros]).toEqual([null, null, null]);
    const [status] = await sql<{ status: string; billing_status: string }[]>`
      select status, billing_status(status) as billing_status from usage_events where call_id = ${ids[0]!}`;
    expect(status).toEqual({ status: "success", billing_status: "exact" });
  });

  it("a lease's calls within their draws leave its overrun at 0; one above its draw stores and counts the excess", async () => {
    const c = await fundedCustomer(sql, adminId, "lease@example.com");
    const served = await servedFromLease(c.keyId);
    const within = callIdAt(Date.now() - 1_000);
    await settleUsage(sql, [event(c.keyId, within, served)]);
    const counters = () =>
      sql<{ overrun_micros: bigint }[]>`select overrun_micros from leases where id = ${served.leaseId}`;
    expect(await counters()).toEqual([{ overrun_micros: 0n }]);
    expect((await stored(within)).overrun_micros).toBeNull();
    // 100 prompt + 50 completion tokens at the test price is 125 micro-USD: a draw of 100 is 25 short.
    const over = callIdAt(Date.now() - 500);
    const result = await settleUsage(sql, [
      event(c.keyId, over, { leaseId: served.leaseId, drawMicros: 100n }),
    ]);
    expect([result.overrunCalls, result.overrunMicros]).toEqual([1, 25n]);
    expect((await stored(over)).overrun_micros).toBe(25n);
    expect(await counters()).toEqual([{ overrun_micros: 25n }]);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("a partition with the NOT NULLs of before (detached, then attached back) is given usage_events' by the partition job", async () => {
    const c = await fundedCustomer(sql, adminId, "reattached@example.com");
    const served = await servedFromLease(c.keyId);
    const day = new Date(Date.now() - 4 * 86_400_000).toISOString().slice(0, 10);
    const name = await dayPartition(sql, day);
    await sql.unsafe(
      `alter table ${name} alter column cached_tokens set not null, alter column credential set not null`,
    );
    const at = `${day}T12:00:00.000Z`;
    const call = (id: string) =>
      settleUsage(sql, [event(c.keyId, id, { ...served, startedAt: at, endedAt: at })]);
    await expect(call(callIdAt(Date.parse(at)))).rejects.toMatchObject({ code: "23502" });
    await ensureUsagePartitions(sql);
    const id = callIdAt(Date.parse(at) + 1);
    expect((await call(id)).inserted).toBe(1);
    const row = await stored(id);
    expect([row.cached_tokens, row.credential]).toEqual([null, null]);
  });
});
