// Price units beyond input/output tokens (clauses 41 and 42), on real PostgreSQL and on the numbers: cached reads and
// cache writes each at their own rate, reasoning counted once, images (by size and quality), audio seconds, characters
// and a per-request fee; the worst case holds reserve; a failed call charges nothing; margins see each unit's cost.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { usageFilters } from "@/lib/analytics/schemas";
import { usageBreakdown } from "@/lib/analytics/usage";
import { placeHold } from "@/lib/billing/hold";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { ADMIN_ACTOR, accountOf, event, insertKey, topUp } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
let adminId: string;

// An Anthropic-style model (input $3, cache read $0.30, cache write $3.75, output $15, reasoning $20 per million)
// that also prices images ($0.04 each), audio ($0.0001/s), characters ($15 per million) and $0.0005 per request.
const RATES = {
  input_price_micros: 3_000_000n,
  output_price_micros: 15_000_000n,
  cached_input_price_micros: 300_000n,
  cache_write_price_micros: 3_750_000n,
  reasoning_price_micros: 20_000_000n,
  image_price_micros: 40_000n,
  audio_second_price_micros: 100n,
  character_price_micros: 15_000_000n,
  request_price_micros: 500n,
  // Provider cost: half of each.
  input_cost_micros: 1_500_000n,
  output_cost_micros: 7_500_000n,
  cached_input_cost_micros: 150_000n,
  cache_write_cost_micros: 1_875_000n,
  reasoning_cost_micros: 10_000_000n,
  image_cost_micros: 20_000n,
  audio_second_cost_micros: 50n,
  character_cost_micros: 7_500_000n,
  request_cost_micros: 250n,
};

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  const [model] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values ('units-model', 'units-model', 'fake', 200000, 1000) returning id`;
  await sql`insert into price_versions ${sql({ model_id: model!.id, effective_from: new Date(Date.now() - 3_600_000), ...RATES })}`;
});

async function customer(balance = 10_000_000n) {
  const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
  const account = await accountOf(sql, userId);
  await topUp(sql, adminId, account.id, balance);
  return { accountId: account.id, keyId: await insertKey(sql, userId) };
}

async function charged(keyId: string, overrides: Parameters<typeof event>[2]) {
  const callId = randomUUID();
  await settleUsage(sql, [event(keyId, callId, { modelGroup: "units-model", ...overrides })]);
  const [row] = await sql<{ revenue_micros: bigint; cost_micros: bigint; billing_status: string }[]>`
    select revenue_micros, cost_micros, billing_status(status) as billing_status from usage_events where key_id = ${keyId} and call_id = ${callId}`;
  return row!;
}

describe("each token class at its own rate", () => {
  it("prices cached reads at the cached rate and cache writes at the write rate, each token once", async () => {
    const c = await customer();
    // 10,000 prompt tokens of which 6,000 read from cache and 3,000 written to it; 1,000 plain.
    const row = await charged(c.keyId, {
      promptTokens: 10_000,
      cachedTokens: 6_000,
      cacheWriteTokens: 3_000,
      completionTokens: 0,
    });
    // 1,000 × $3 + 6,000 × $0.30 + 3,000 × $3.75 per million = 3,000 + 1,800 + 11,250 µ$, plus the request's 500.
    expect(row.revenue_micros).toBe(3_000n + 1_800n + 11_250n + 500n);
    // Reads billed as writes (or writes left out) would give 3,000 + 22,500 + … or 4,800: neither.
    expect(row.cost_micros).toBe((3_000n + 1_800n + 11_250n) / 2n + 250n);
  });

  it("counts reasoning tokens once, inside the completion, at the reasoning rate", async () => {
    const c = await customer();
    const row = await charged(c.keyId, { promptTokens: 0, completionTokens: 1_000, reasoningTokens: 400 });
    // 600 × $15 + 400 × $20 per million = 9,000 + 8,000 µ$ (not 1,400 tokens' worth), plus 500.
    expect(row.revenue_micros).toBe(9_000n + 8_000n + 500n);
  });

  it("clamps a class larger than what contains it (no negative input, no double count)", async () => {
    const c = await customer();
    const row = await charged(c.keyId, {
      promptTokens: 100,
      cachedTokens: 80,
      cacheWriteTokens: 500,
      completionTokens: 10,
      reasoningTokens: 99,
    });
    // cached 80, written min(500, 20) = 20, plain 0; reasoning min(99, 10) = 10: ⌈(80·0.3 + 20·3.75 + 10·20)⌉ + 500.
    expect(row.revenue_micros).toBe(24n + 75n + 200n + 500n);
  });
});

describe("units beyond tokens", () => {
  it("prices images each, audio per second (counted in ms), characters per million, rounded up once", async () => {
    const c = await customer();
    expect(
      (await charged(c.keyId, { kind: "image", promptTokens: 0, completionTokens: 0, images: 3 }))
        .revenue_micros,
    ).toBe(3n * 40_000n + 500n);
    // 2,345 ms × $0.0001/s = 234.5 µ$, the request's 500: 734.5, rounded up once to 735.
    expect(
      (
        await charged(c.keyId, {
          kind: "transcription",
          promptTokens: 0,
          completionTokens: 0,
          audioMs: 2_345,
        })
      ).revenue_micros,
    ).toBe(735n);
    // 1,234 characters × $15 per million (15 µ$ each) = 18,510 µ$, plus 500.
    expect(
      (await charged(c.keyId, { kind: "speech", promptTokens: 0, completionTokens: 0, characters: 1_234 }))
        .revenue_micros,
    ).toBe(19_010n);
    const [row] = await sql<{ images: number; audio_ms: bigint; characters: number }[]>`
      select sum(images)::int as images, sum(audio_ms)::bigint as audio_ms, sum(characters)::int as characters
      from usage_events where key_id = ${c.keyId}`;
    expect(row).toEqual({ images: 3, audio_ms: 2_345n, characters: 1_234 });
  });

  it("charges a failed call nothing, not even the request fee, and the ledger sums to the balance", async () => {
    const c = await customer(1_000_000n);
    const row = await charged(c.keyId, { status: "failure", images: 2, kind: "image" });
    expect(row).toMatchObject({ revenue_micros: 0n, cost_micros: 0n, billing_status: "waived" });
    const [account] = await sql<
      { balance_micros: bigint }[]
    >`select balance_micros from accounts where id = ${c.accountId}`;
    expect(account!.balance_micros).toBe(1_000_000n);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });
});

describe("the worst case a hold reserves", () => {
  it("prices a worst-case prompt token at the dearest of input, cache write and cached read", async () => {
    const rate = async (r: Record<string, number | null>) => {
      const [row] = await sql<{ v: number }[]>`
        select worst_prompt_rate(jsonb_populate_record(null::price_versions, ${sql.json(r)}))::int as v`;
      return row!.v;
    };
    const rates = { input_price_micros: 3, cache_write_price_micros: null, cached_input_price_micros: null };
    expect(await rate(rates)).toBe(3);
    expect(await rate({ ...rates, cache_write_price_micros: 5, cached_input_price_micros: 1 })).toBe(5);
    // A price book may sell cached reads dearer than input: a prompt read whole from the cache is the worst case.
    expect(await rate({ ...rates, cache_write_price_micros: 2, cached_input_price_micros: 7 })).toBe(7);
  });

  it("is never below the charge, whatever the token rates and however the tokens split into classes (generated)", async () => {
    const rate = fc.integer({ min: 0, max: 50_000_000 });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          input: rate,
          output: rate,
          cached: fc.option(rate),
          cacheWrite: fc.option(rate),
          reasoning: fc.option(rate),
          request: fc.integer({ min: 0, max: 1_000_000 }),
        }),
        fc.record({
          prompt: fc.integer({ min: 0, max: 200_000 }),
          output: fc.integer({ min: 0, max: 100_000 }),
          cached: fc.integer({ min: 0, max: 200_000 }),
          cacheWrite: fc.integer({ min: 0, max: 200_000 }),
          reasoning: fc.integer({ min: 0, max: 100_000 }),
        }),
        async (r, n) => {
          const pv = {
            input_price_micros: r.input,
            output_price_micros: r.output,
            cached_input_price_micros: r.cached,
            cache_write_price_micros: r.cacheWrite,
            reasoning_price_micros: r.reasoning,
            request_price_micros: r.request,
            image_rates: [],
          };
          const counts = {
            input: n.prompt,
            output: n.output,
            cached: n.cached,
            cacheWrite: n.cacheWrite,
            reasoning: n.reasoning,
          };
          const [row] = await sql<{ charge: string; held: string }[]>`
            select price_call(p, 'price', unit_rates(p, 'price'), ${sql.json(counts)}, null, null)::text as charge,
                   price_worst_case(p, ${sql.json({ input: n.prompt, output: n.output })}, null, null)::text as held
            from jsonb_populate_record(null::price_versions, ${sql.json(pv)}) p`;
          expect(BigInt(row!.charge)).toBeLessThanOrEqual(BigInt(row!.held));
        },
      ),
      { numRuns: 300 },
    );
  });

  // The cases and rates of tests/fixtures/worst-case.json, which litellm/tests/test_leases.py asserts of the gateway.
  const WORST_CASE = JSON.parse(readFileSync("tests/fixtures/worst-case.json", "utf8")) as {
    worstCaseRates: Record<string, unknown>;
    cases: {
      _: string;
      prompt: number;
      output: number;
      units: Record<string, number>;
      micros: number;
    }[];
  };

  it("is price_worst_case: the prompt at the dearer cache-write rate, the output cap at the dearer reasoning rate, every unit", async () => {
    for (const c of WORST_CASE.cases) {
      const [row] = await sql<{ micros: bigint }[]>`
        select price_worst_case(pv, ${sql.json({ ...c.units, input: c.prompt, output: c.output })}, null, null) as micros
        from models m cross join lateral price_version_at(m.id, now()) pv where m.public_name = 'units-model'`;
      expect(row!.micros, c._).toBe(BigInt(c.micros));
    }
  });

  it("worst_case_rates gives the gateway's lease draws price_worst_case's rates, resolved", async () => {
    const [row] = await sql<{ rates: unknown }[]>`
      select worst_case_rates(pv) as rates
      from models m cross join lateral price_version_at(m.id, now()) pv where m.public_name = 'units-model'`;
    // The prompt at the dearer cache-write rate ($3.75), the output at the dearer reasoning rate ($20), the rest as priced.
    expect(row!.rates).toEqual(WORST_CASE.worstCaseRates);
  });

  it("reserves n images, then the charge is what the upstream made", async () => {
    const c = await customer(1_000_000n);
    const callId = randomUUID();
    const held = await placeHold(sql, {
      keyId: c.keyId,
      callId,
      nonce: "n1",
      model: "units-model",
      promptTokens: 10,
      maxOutputTokens: 0,
      units: { image: 4 },
    });
    expect(held.amountMicros).toBe((10n * 3_750_000n + 999_999n) / 1_000_000n + 4n * 40_000n + 500n);
    await settleUsage(sql, [
      event(c.keyId, callId, {
        modelGroup: "units-model",
        kind: "image",
        promptTokens: 10,
        completionTokens: 0,
        images: 2,
      }),
    ]);
    const [row] = await sql<{ balance_micros: bigint; held_micros: bigint }[]>`
      select balance_micros, held_micros from accounts where id = ${c.accountId}`;
    expect(row).toEqual({ balance_micros: 1_000_000n - (30n + 80_000n + 500n), held_micros: 0n });
  });

  it("refuses negative units with a 422 and holds nothing", async () => {
    const c = await customer(1_000_000n);
    await expect(
      placeHold(sql, {
        keyId: c.keyId,
        callId: randomUUID(),
        nonce: "n",
        model: "units-model",
        promptTokens: 1,
        maxOutputTokens: 0,
        units: { image: -1 },
      }),
    ).rejects.toMatchObject({ code: "validation_failed" });
    const [row] = await sql<
      { held_micros: bigint }[]
    >`select held_micros from accounts where id = ${c.accountId}`;
    expect(row!.held_micros).toBe(0n);
  });
});

describe("the usage views by call kind", () => {
  it("sum each kind's units and money from the hourly roll-up exactly as from the events", async () => {
    const c = await customer();
    const hourAgo = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const at = { startedAt: hourAgo, endedAt: hourAgo, promptTokens: 0, completionTokens: 0 };
    await settleUsage(sql, [
      event(c.keyId, randomUUID(), { modelGroup: "units-model", kind: "image", images: 2, ...at }),
      event(c.keyId, randomUUID(), { modelGroup: "units-model", kind: "image", images: 1, ...at }),
      event(c.keyId, randomUUID(), { modelGroup: "units-model", kind: "speech", characters: 400, ...at }),
      event(c.keyId, randomUUID(), {
        modelGroup: "units-model",
        kind: "transcription",
        audioMs: 61_500,
        ...at,
      }),
    ]);
    // A zero count is stored as null (docs/adr/0033): the events' sums read it as 0, as the roll-up does.
    const fromEvents = await sql`
      select kind, coalesce(sum(images), 0)::int as images, coalesce(sum(audio_ms), 0)::bigint as audio_ms,
             coalesce(sum(characters), 0)::int as characters,
             sum(revenue_micros)::bigint as revenue
      from usage_events group by kind order by kind`;
    const fromHourly = await sql`
      select kind, sum(images)::int as images, sum(audio_ms)::bigint as audio_ms, sum(characters)::int as characters,
             sum(revenue_micros)::bigint as revenue
      from usage_hourly group by kind order by kind`;
    expect(fromHourly).toEqual(fromEvents);
    // The admin's breakdown by call kind over the last 7 days (whole hours from usage_hourly, edges from events).
    const rows = await usageBreakdown(sql, ADMIN_ACTOR(adminId), usageFilters.parse({}), "kind");
    const expected = await sql<
      {
        id: string;
        calls: number;
        images: number;
        audioMs: number;
        characters: number;
        revenueMicros: bigint;
      }[]
    >`select kind as id, count(*)::int as calls, coalesce(sum(images), 0)::int as images,
             coalesce(sum(audio_ms), 0)::int as "audioMs", coalesce(sum(characters), 0)::int as characters,
             sum(revenue_micros)::bigint as "revenueMicros"
      from usage_events where started_at >= now() - interval '7 days' group by kind`;
    expect(
      rows
        .map(({ id, calls, images, audioMs, characters, revenueMicros }) => ({
          id,
          calls,
          images,
          audioMs,
          characters,
          revenueMicros,
        }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    ).toEqual(expected.sort((a, b) => a.id.localeCompare(b.id)));
    const image = rows.find((r) => r.id === "image")!;
    expect(image.images).toBeGreaterThanOrEqual(3);
    expect(rows.find((r) => r.id === "transcription")!.audioMs).toBeGreaterThanOrEqual(61_500);
    expect(image.marginMicros).toBe(image.revenueMicros - image.costMicros!);
  });
});

// The rule's cases, shared with the gateway's mirror for lease draws (litellm/tests/test_leases.py).
const IMAGE_RATES = JSON.parse(readFileSync("tests/fixtures/image-rates.json", "utf8")) as {
  imagePriceMicros: number;
  imageCostMicros: number;
  rates: { size: string | null; quality: string | null; price_micros: number; cost_micros: number }[];
  leaseImages: { size: string | null; quality: string | null; micros: number }[];
  cases: {
    why: string;
    size: string | null;
    quality: string | null;
    priceMicros: number;
    costMicros: number;
  }[];
};

describe("images priced by size and quality (clause 43)", () => {
  let modelId: string;
  beforeAll(async () => {
    const [model] = await sql<{ id: string }[]>`
      insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
      values ('sized-image', 'sized-image', 'fake', 4096, 1) returning id`;
    modelId = model!.id;
    await sql`insert into price_versions ${sql({
      model_id: modelId,
      effective_from: new Date(Date.now() - 3_600_000),
      input_cost_micros: 0n,
      output_cost_micros: 0n,
      input_price_micros: 0n,
      output_price_micros: 0n,
      image_price_micros: BigInt(IMAGE_RATES.imagePriceMicros),
      image_cost_micros: BigInt(IMAGE_RATES.imageCostMicros),
      request_price_micros: 500n,
      request_cost_micros: 250n,
      image_rates: sql.json(IMAGE_RATES.rates),
    })}`;
  });

  it.each(IMAGE_RATES.cases)("image_rate: $why ($size, $quality)", async (c) => {
    const [row] = await sql<{ price: bigint; cost: bigint }[]>`
      select image_rate(pv, 'price', ${c.size}, ${c.quality}) as price, image_rate(pv, 'cost', ${c.size}, ${c.quality}) as cost
      from price_version_at(${modelId}, now()) pv`;
    expect(row).toEqual({ price: BigInt(c.priceMicros), cost: BigInt(c.costMicros) });
  });

  it("worst_case_rates resolves image_rate for every named size and quality and for any other", async () => {
    const [row] = await sql<{ images: unknown }[]>`
      select worst_case_rates(pv)->'images' as images from price_version_at(${modelId}, now()) pv`;
    // The table the gateway's draws look images up in (litellm/tests/test_leases.py prices the cases with it).
    expect(row!.images).toEqual(IMAGE_RATES.leaseImages);
  });

  it("holds n images at the rate of the size and quality asked for, and charges the images made at it", async () => {
    const c = await customer(1_000_000n);
    const callId = randomUUID();
    const asked = { imageSize: "1792x1024", imageQuality: "hd" as const };
    const held = await placeHold(sql, {
      keyId: c.keyId,
      callId,
      nonce: "n1",
      model: "sized-image",
      promptTokens: 0,
      maxOutputTokens: 0,
      units: { image: 3 },
      kind: "image",
      ...asked,
    });
    expect(held.amountMicros).toBe(3n * 120_000n + 500n);
    await settleUsage(sql, [
      event(c.keyId, callId, {
        modelGroup: "sized-image",
        kind: "image",
        promptTokens: 0,
        completionTokens: 0,
        images: 2,
        ...asked,
      }),
    ]);
    const [row] = await sql<
      {
        revenue_micros: bigint;
        cost_micros: bigint;
        image_size: string;
        image_quality: string;
        balance: bigint;
        held: bigint;
      }[]
    >`select u.revenue_micros, u.cost_micros, u.image_size, u.image_quality, a.balance_micros as balance, a.held_micros as held
      from usage_events u join accounts a on a.id = u.account_id where u.call_id = ${callId}`;
    // Two wide HD images at $0.12 (not the $0.04 default), the request's $0.0005; cost $0.06 each and $0.00025.
    expect(row).toEqual({
      revenue_micros: 240_500n,
      cost_micros: 120_250n,
      image_size: "1792x1024",
      image_quality: "hd",
      balance: 1_000_000n - 240_500n,
      held: 0n,
    });
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
    // The same images without a size or quality are the default's $0.04 each.
    expect(
      (
        await charged(c.keyId, {
          modelGroup: "sized-image",
          kind: "image",
          promptTokens: 0,
          completionTokens: 0,
          images: 2,
        })
      ).revenue_micros,
    ).toBe(80_500n);
  });

  it("refuses malformed rates in the table itself, whoever writes them", async () => {
    const bad = [
      [{ size: null, quality: null, price_micros: 1, cost_micros: 0 }],
      [{ size: "1024x1024", quality: null, price_micros: 1.5, cost_micros: 0 }],
      [{ size: "1024x1024", quality: null, price_micros: "1", cost_micros: 0 }],
      [{ size: "huge", quality: null, price_micros: 1, cost_micros: 0 }],
      [{ size: "1024x1024", quality: "ultra", price_micros: 1, cost_micros: 0 }],
      [{ size: "1024x1024", quality: null, price_micros: -1, cost_micros: 0 }],
      [{ size: "1024x1024", quality: null, price_micros: 1, cost_micros: 0, note: "x" }],
      [
        { size: "1024x1024", quality: "hd", price_micros: 1, cost_micros: 0 },
        { size: "1024x1024", quality: "hd", price_micros: 2, cost_micros: 0 },
      ],
      { size: "1024x1024" },
    ];
    for (const rates of bad) {
      await expect(
        sql`insert into price_versions ${sql({
          model_id: modelId,
          effective_from: new Date(Date.now() + 86_400_000),
          input_cost_micros: 0n,
          output_cost_micros: 0n,
          input_price_micros: 0n,
          output_price_micros: 0n,
          image_rates: sql.json(rates as never),
        })}`,
      ).rejects.toMatchObject({ constraint_name: "price_versions_image_rates_check" });
    }
  });

  it("the price-book API takes image rates from an admin, refuses duplicates, and shows developers no cost", async () => {
    await insertUser(sql, { email: "sizes-admin@example.com", role: "admin" });
    await insertUser(sql, { email: "sizes-dev@example.com" });
    const admin = await signIn("sizes-admin@example.com");
    const developer = await signIn("sizes-dev@example.com");
    const { GET, POST } = await import("@/app/api/v1/prices/route");
    const body = (imageRates: unknown[]) => ({
      modelId,
      effectiveFrom: new Date(Date.now() + 60_000).toISOString(),
      inputCostMicros: 0,
      outputCostMicros: 0,
      inputPriceMicros: 0,
      outputPriceMicros: 0,
      imagePriceMicros: 40_000,
      imageCostMicros: 20_000,
      imageRates,
    });
    const versions = async () =>
      (await sql`select count(*)::int as n from price_versions where model_id = ${modelId}`)[0]!.n;
    const before = await versions();
    for (const rates of [
      [
        { size: "1024x1024", quality: "hd", costMicros: 1, priceMicros: 2 },
        { size: "1024x1024", quality: "hd", costMicros: 1, priceMicros: 3 },
      ],
      [{ size: null, quality: null, costMicros: 1, priceMicros: 2 }],
      [{ size: "1024x1024", quality: "hd", costMicros: 1, priceMicros: 2.5 }],
      [{ size: "1024", quality: "hd", costMicros: 1, priceMicros: 2 }],
    ]) {
      const res = await call(POST, { cookie: admin, body: body(rates) });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect(await versions()).toBe(before);
    const ok = await call(POST, {
      cookie: admin,
      body: body([{ size: "1792x1024", quality: null, costMicros: "40000", priceMicros: 80_000 }]),
    });
    expect(ok.status).toBe(201);
    expect(ok.body.version.imageRates).toEqual([
      { size: "1792x1024", quality: null, costMicros: 40_000, priceMicros: 80_000 },
    ]);
    const seen = await call(GET, { cookie: developer });
    const sized = seen.body.items.find((v: { model: string }) => v.model === "sized-image");
    // Still the version in force now (the new one starts in a minute), its rates without their cost.
    expect(sized.imageRates.map((r: object) => Object.keys(r).sort())).toEqual(
      IMAGE_RATES.rates.map(() => ["priceMicros", "quality", "size"]),
    );
  });
});
