// The SQL agrees with the billing contract (lib/billing/contract.json, docs/adr/0014), on a migrated database: every
// price unit's columns exist on price_versions with the type and blank the contract gives, price_units takes every
// unit's count and rate, billed_kinds bills exactly the routes each unit's rate bills (clause 44), usage_events and
// image_rates_valid accept exactly the contract's call kinds, image sizes and qualities, an account's PII policy its
// PII categories; and zod reads the same.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  ASKED_UNITS,
  CALL_KINDS,
  CONTRACT,
  IMAGE_QUALITIES,
  PRICE_UNITS,
  type PriceUnit,
} from "@/lib/billing/contract";
import { holdBody, priceBody } from "@/lib/billing/schemas";
import { contractSql } from "@/lib/db/contract-sql";
import { createTestDatabase } from "../helpers/db";

const { sql } = await createTestDatabase();
const KINDS = CONTRACT.callKinds.map((k) => k.kind);
const PATTERN = new RegExp(CONTRACT.imageSizes.pattern);

/** A price_versions row with every price and cost 0 (blank where the contract allows it), then `rates`. */
async function billedKinds(rates: Record<string, unknown>, free = false): Promise<string[]> {
  const row = Object.fromEntries(
    PRICE_UNITS.flatMap((u) => [u.price.column, u.cost.column]).map((column) => [column, 0]),
  );
  const [result] = await sql<{ kinds: string[] }[]>`
    select billed_kinds(jsonb_populate_record(null::price_versions, ${sql.json({ ...row, ...rates } as never)}),
                        ${free}) as kinds`;
  return result!.kinds;
}

describe("the SQL agrees with the billing contract", () => {
  it("every price unit's price and cost columns exist on price_versions, bigint, nullable exactly where a blank is another rate", async () => {
    const columns = await sql<{ name: string; type: string; nullable: string; initial: string | null }[]>`
      select column_name as name, data_type as type, is_nullable as nullable, column_default as initial
      from information_schema.columns where table_schema = 'public' and table_name = 'price_versions'`;
    const byName = new Map(columns.map((c) => [c.name, c]));
    for (const unit of PRICE_UNITS) {
      for (const side of [unit.price, unit.cost]) {
        const column = byName.get(side.column);
        expect(column, side.column).toBeDefined();
        expect(column!.type, side.column).toBe("bigint");
        const fallsBack = unit.blank === "input rate" || unit.blank === "output rate";
        expect(column!.nullable, side.column).toBe(fallsBack ? "YES" : "NO");
        if (unit.blank === "not billed") expect(column!.initial, side.column).toBe("0");
      }
    }
    // Every *_micros rate column of price_versions is a unit's: a column no unit names would be priced by no one.
    const rateColumns = columns.map((c) => c.name).filter((n) => /_(price|cost)_micros$/.test(n));
    expect(rateColumns.sort()).toEqual(PRICE_UNITS.flatMap((u) => [u.price.column, u.cost.column]).sort());
  });

  it("price_unit_contract is the contract's price units, as the generated migration wrote them", async () => {
    const rows = await sql<
      {
        key: string;
        price_column: string;
        cost_column: string;
        count_column: string | null;
        scale: string;
        reserve: string;
        bills: string[];
      }[]
    >`select key, price_column, cost_column, count_column, scale::text, reserve, bills
      from price_unit_contract order by position`;
    expect(rows).toEqual(
      PRICE_UNITS.map((u) => ({
        key: u.key,
        price_column: u.price.column,
        cost_column: u.cost.column,
        count_column: u.count?.column ?? null,
        scale: String(u.scale),
        reserve: u.reserve,
        bills: u.bills,
      })),
    );
    // Every counted unit is recorded per call: its column on usage_events, a whole number; a row that leaves it out
    // reads as none: 0 by default for prompt and completion tokens, null for the others (a zero count is stored as
    // null, docs/adr/0033).
    const columns = await sql<{ name: string; type: string; initial: string | null; nullable: string }[]>`
      select column_name as name, data_type as type, column_default as initial, is_nullable as nullable
      from information_schema.columns where table_schema = 'public' and table_name = 'usage_events'`;
    for (const unit of PRICE_UNITS.filter((u) => u.count)) {
      const column = columns.find((c) => c.name === unit.count!.column);
      expect(column, unit.key).toBeDefined();
      expect(["integer", "bigint"], unit.key).toContain(column!.type);
      const always = ["prompt_tokens", "completion_tokens"].includes(column!.name);
      expect([column!.initial, column!.nullable], unit.key).toEqual(always ? ["0", "NO"] : [null, "YES"]);
    }
  });

  it("price_units prices each unit's count at its rate and scale, one request included, rounded up once", async () => {
    const price = async (counts: Record<string, number>, rates: Record<string, number | null>) => {
      const [row] = await sql<{ charge: string }[]>`
        select price_units(${sql.json(counts)}, ${sql.json(rates as never)})::text as charge`;
      return BigInt(row!.charge);
    };
    for (const unit of PRICE_UNITS) {
      // One unit of it at 1,000,000 micro-USD per its "per": a million tokens or characters, a second (1,000 ms of
      // audio), an image, a request. Its container (input for cached/cache-write tokens, output for reasoning)
      // counts the same tokens, at a rate of 0.
      const one = unit.scale === 1 ? 1_000_000 : unit.scale === 1000 ? 1000 : 1;
      const counts: Record<string, number> = { [unit.key]: one };
      if (unit.blank === "input rate") counts.input = one;
      if (unit.blank === "output rate") counts.output = one;
      expect(await price(counts, { [unit.key]: 1_000_000 }), unit.key).toBe(1_000_000n);
      // A rate alone charges nothing: the count decides.
      expect(await price({}, { [unit.key]: 1_000_000 }), `${unit.key} without a count`).toBe(0n);
    }
    // Every unit together: the terms add up before the one rounding.
    expect(
      await price(
        { input: 1, output: 1, image: 1, audio: 1, characters: 1, request: 1 },
        {
          input: 1,
          output: 1,
          image: 1,
          audio: 1,
          characters: 1,
          request: 1,
        },
      ),
    ).toBe(3n);
  });

  it("counted_prompt caps a worst case's prompt at the window per call or per input, as each kind says", async () => {
    for (const kind of CONTRACT.callKinds) {
      const [row] = await sql<{ counted: string }[]>`select counted_prompt(100, 10, ${kind.kind}) as counted`;
      expect(Number(row!.counted), kind.kind).toBe(kind.windowCaps === "input" ? 100 : 10);
    }
  });

  it("billed_kinds names the contract's call kinds, in its order, and bills each route by exactly the units the contract says", async () => {
    expect(await billedKinds({}, true)).toEqual(KINDS);
    expect(await billedKinds({})).toEqual([]);
    for (const unit of PRICE_UNITS) {
      expect(await billedKinds({ [unit.price.column]: 1 }), unit.key).toEqual(
        KINDS.filter((k) => unit.bills.includes(k)),
      );
      // Provider cost alone bills nothing: the sell price decides.
      expect(await billedKinds({ [unit.cost.column]: 1 }), `${unit.key} cost`).toEqual([]);
    }
    // Image rates by size and quality bill the image route too (clause 43).
    expect(
      await billedKinds({
        image_rates: [{ size: "1024x1024", quality: null, price_micros: 1, cost_micros: 0 }],
      }),
    ).toEqual(["image"]);
    // Every route is billed by some unit (else no priced model could serve it).
    for (const kind of KINDS)
      expect(
        PRICE_UNITS.some((u: PriceUnit) => u.bills.includes(kind)),
        kind,
      ).toBe(true);
  });

  it("usage_events accepts exactly the contract's call kinds", async () => {
    const definitions = await sql<{ definition: string }[]>`
      select pg_get_constraintdef(oid) as definition from pg_constraint
      where conrelid = 'public.usage_events'::regclass and contype = 'c' and pg_get_constraintdef(oid) like '%kind%'`;
    const named = definitions.flatMap((d) =>
      [...d.definition.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1]),
    );
    expect(new Set(named)).toEqual(new Set(KINDS));
  });

  const SIZES = [
    "auto",
    "1024x1024",
    "10x10",
    "99999x99999",
    "1x1",
    "1024X1024",
    "AUTO",
    "1024x1024\n",
    "100000x1",
    "",
  ];

  it("image_rates_valid accepts exactly the contract's image sizes and qualities", async () => {
    const valid = async (size: string | null, quality: string | null) => {
      const rates = [{ size, quality, price_micros: 1, cost_micros: 1 }];
      const [checked] = await sql<
        { ok: boolean }[]
      >`select image_rates_valid(${sql.json(rates as never)}) as ok`;
      return checked!.ok;
    };
    for (const size of SIZES) expect(await valid(size, null), JSON.stringify(size)).toBe(PATTERN.test(size));
    expect(SIZES.filter((s) => PATTERN.test(s))).toEqual(["auto", "1024x1024", "10x10", "99999x99999"]);
    for (const quality of CONTRACT.imageQualities) expect(await valid(null, quality), quality).toBe(true);
    for (const quality of ["ultra", "HD", "", "standard "])
      expect(await valid(null, quality), quality).toBe(false);
  });

  it("an account's PII policy takes exactly the contract's categories, each masked or blocked", async () => {
    const accepts = async (policy: unknown) => {
      try {
        await sql.begin(async (tx) => {
          await tx`update accounts set pii_policy = ${sql.json(policy as never)}::jsonb
                   where id = (select id from accounts order by id limit 1)`;
          throw new Error("rollback");
        });
      } catch (error) {
        return (error as Error).message === "rollback";
      }
      return true;
    };
    for (const category of CONTRACT.piiCategories) {
      expect(await accepts({ [category]: "mask" }), category).toBe(true);
      expect(await accepts({ [category]: "block" }), category).toBe(true);
      expect(await accepts({ [category]: "off" }), `${category}: off`).toBe(false);
    }
    expect(await accepts(Object.fromEntries(CONTRACT.piiCategories.map((c) => [c, "mask"])))).toBe(true);
    for (const policy of [{ passport: "mask" }, { email: true }, ["email"], { email: "MASK" }])
      expect(await accepts(policy), JSON.stringify(policy)).toBe(false);
  });

  it("zod takes the same kinds, sizes, qualities and unit fields", () => {
    const hold = {
      keyId: crypto.randomUUID(),
      callId: "c",
      nonce: "n",
      model: "m",
      promptTokens: 1,
      maxOutputTokens: 1,
    };
    expect(CALL_KINDS).toEqual(KINDS);
    expect(IMAGE_QUALITIES).toEqual(CONTRACT.imageQualities);
    for (const kind of [...KINDS, "video"])
      expect(holdBody.safeParse({ ...hold, kind }).success, kind).toBe(kind !== "video");
    for (const size of SIZES) {
      expect(holdBody.safeParse({ ...hold, imageSize: size }).success, JSON.stringify(size)).toBe(
        PATTERN.test(size),
      );
    }
    for (const quality of [...CONTRACT.imageQualities, "ultra"]) {
      expect(holdBody.safeParse({ ...hold, imageQuality: quality }).success, quality).toBe(
        quality !== "ultra",
      );
    }
    // priceBody: a field per unit and side; required units must be sent, the others default to blank (null: the
    // fallback rate) or 0 (not billed), as the contract says.
    const fields = PRICE_UNITS.flatMap((u) => [u.price.field, u.cost.field]);
    const unitFields = Object.keys(priceBody.shape).filter((f) => f.endsWith("Micros"));
    expect(unitFields.sort()).toEqual([...fields].sort());
    const required = Object.fromEntries(
      PRICE_UNITS.filter((u) => u.blank === "required").flatMap((u) => [
        [u.price.field, 1],
        [u.cost.field, 1],
      ]),
    );
    const parsed = priceBody.parse({ modelId: crypto.randomUUID(), ...required }) as Record<string, unknown>;
    for (const unit of PRICE_UNITS.filter((u) => u.blank !== "required")) {
      for (const field of [unit.price.field, unit.cost.field]) {
        expect(parsed[field], field).toBe(unit.blank === "not billed" ? 0n : null);
      }
    }
    // Per-million rates go up to $1,000,000 per million, the others to $1,000 each.
    for (const unit of PRICE_UNITS) {
      const most = unit.perMillion ? 1_000_000_000_000 : 1_000_000_000;
      for (const [rate, ok] of [
        [most, true],
        [most + 1, false],
      ] as const) {
        const body = { modelId: crypto.randomUUID(), ...required, [unit.price.field]: rate };
        expect(priceBody.safeParse(body).success, `${unit.price.field} ${rate}`).toBe(ok);
      }
    }
    for (const field of Object.keys(required)) {
      const { [field]: _left, ...rest } = required;
      expect(priceBody.safeParse({ modelId: crypto.randomUUID(), ...rest }).success, field).toBe(false);
    }
  });
});

describe("a price unit added to the contract (docs/adr/0015)", () => {
  // A unit no code names: per web search, as providers sell hosted search on the text routes. The contract's entry
  // and the generated SQL (contractSql) are all it gets; every money function must price, hold and charge it.
  const webSearch = {
    key: "webSearch",
    label: "Web searches",
    per: "search",
    perMillion: false,
    price: { field: "webSearchPriceMicros", column: "web_search_price_micros" },
    cost: { field: "webSearchCostMicros", column: "web_search_cost_micros" },
    blank: "not billed",
    count: { field: "webSearches", column: "web_searches", max: 100 },
    scale: 1_000_000,
    reserve: "asked",
    bills: ["responses"],
  } satisfies PriceUnit;
  const ROLLBACK = new Error("rollback");

  it("is priced, bills its route, goes to the gateway's rates, is held and charged with no money function edited", async () => {
    const seen: Record<string, unknown> = {};
    await sql
      .begin(async (tx) => {
        await tx.unsafe(contractSql([...PRICE_UNITS, webSearch]));
        const [user] = await tx<{ id: string }[]>`
          insert into users (email, role) values (${`${randomUUID()}@example.com`}, 'developer') returning id`;
        const [account] = await tx<{ id: string }[]>`
          update accounts set balance_micros = 1000000 where owner_user_id = ${user!.id} returning id`;
        const [key] = await tx<{ id: string }[]>`
          insert into api_keys (user_id, name, prefix, key_hash)
          values (${user!.id}, 'contract', 'tg_contract', ${Buffer.from(randomUUID())}) returning id`;
        const [model] = await tx<{ id: string }[]>`
          insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
          values ('searcher', 'searcher', 'fake', 16384, 100) returning id`;
        // Sold only by the search: 1 cent each (cost half), tokens free.
        await tx`
          insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros,
                                      input_price_micros, output_price_micros, web_search_price_micros,
                                      web_search_cost_micros)
          values (${model!.id}, now() - interval '1 hour', 0, 0, 0, 0, 10000, 5000)`;
        const pv = tx`(select p from price_versions p where p.model_id = ${model!.id})`;
        [seen.kinds] = (await tx`select billed_kinds(${pv}, false) as v`).map((r) => r.v);
        [seen.price] = (
          await tx`select price_call(${pv}, 'price', unit_rates(${pv}, 'price'), '{"input": 5, "webSearch": 3}', null,
                                     null) as v`
        ).map((r) => r.v);
        [seen.cost] = (
          await tx`select price_call(${pv}, 'cost', unit_rates(${pv}, 'cost'), '{"webSearch": 3}', null, null) as v`
        ).map((r) => r.v);
        [seen.rates] = (await tx`select worst_case_rates(${pv})->'units' as v`).map((r) => r.v);
        const [hold] = await tx<{ amount_micros: bigint }[]>`
          select amount_micros from place_hold(${key!.id}, 'call-1', 'n', 'searcher', 5, 10, 1, '{}',
                                               '{"webSearch": 2}', null, null, 'responses')`;
        seen.held = hold!.amount_micros;
        const event = {
          call_id: "call-1",
          key_id: key!.id,
          model_group: "searcher",
          status: "success",
          stream: false,
          units: { input: 5, output: 10, webSearch: 2 },
          started_at: new Date().toISOString(),
          ended_at: new Date().toISOString(),
          kind: "responses",
        };
        const [settled] = await tx<{ charged_micros: bigint }[]>`
          select charged_micros from settle_usage(${tx.json([event] as never)}, ${randomUUID()}::uuid)`;
        seen.charged = settled!.charged_micros;
        const [after] = await tx<{ balance_micros: bigint; held_micros: bigint }[]>`
          select balance_micros, held_micros from accounts where id = ${account!.id}`;
        seen.account = after;
        throw ROLLBACK;
      })
      .catch((error) => {
        if (error !== ROLLBACK) throw error;
      });
    expect(seen).toEqual({
      kinds: ["responses"],
      price: 30_000n,
      cost: 15_000n,
      rates: { image: 0, audio: 0, characters: 0, request: 0, webSearch: 10_000 },
      held: 20_000n,
      charged: 20_000n,
      account: { balance_micros: 980_000n, held_micros: 0n },
    });
  });

  it("every unit a call asks for is recorded on its usage row and charged, also when a success follows a failure", async () => {
    const [user] = await sql<{ id: string }[]>`
      insert into users (email, role) values (${`${randomUUID()}@example.com`}, 'developer') returning id`;
    const [key] = await sql<{ id: string }[]>`
      insert into api_keys (user_id, name, prefix, key_hash)
      values (${user!.id}, 'contract', 'tg_contract', ${Buffer.from(randomUUID())}) returning id`;
    // Every asked unit at 1 micro-USD per one of its "per": the charge is the counts, each at its scale.
    const modelGroup = `asker-${randomUUID()}`;
    const [model] = await sql<{ id: string }[]>`
      insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
      values (${modelGroup}, 'asker', 'fake', 16384, 100) returning id`;
    await sql`
      insert into price_versions ${sql({
        model_id: model!.id,
        effective_from: new Date(Date.now() - 3_600_000),
        input_cost_micros: 0,
        output_cost_micros: 0,
        input_price_micros: 0,
        output_price_micros: 0,
        ...Object.fromEntries(ASKED_UNITS.map((u) => [u.price.column, 1])),
      })}`;
    const units = Object.fromEntries(ASKED_UNITS.map((u, i) => [u.key, 1000 * (i + 2)]));
    // Rounded up once for the whole call.
    const charge = Math.ceil(
      ASKED_UNITS.reduce((sum, u, i) => sum + 1000 * (i + 2) * u.scale, 0) / 1_000_000,
    );
    const event = (callId: string, status: string, counts: Record<string, number>) => ({
      call_id: callId,
      key_id: key!.id,
      model_group: modelGroup,
      status,
      stream: false,
      units: { input: 0, output: 0, ...counts },
      started_at: new Date().toISOString(),
      ended_at: new Date().toISOString(),
      kind: "chat",
    });
    const settle = (e: object) => sql`
      select * from settle_usage(${sql.json([e] as never)}, ${randomUUID()}::uuid)`;
    const recorded = async (callId: string) => {
      const [row] = await sql<Record<string, string>[]>`
        select revenue_micros::text as revenue, ${sql(ASKED_UNITS.map((u) => u.count.column))}
        from usage_events where key_id = ${key!.id} and call_id = ${callId}`;
      return Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)]));
    };
    const expected = {
      revenue: charge,
      ...Object.fromEntries(ASKED_UNITS.map((u, i) => [u.count.column, 1000 * (i + 2)])),
    };
    await settle(event("once", "success", units));
    expect(await recorded("once")).toEqual(expected);
    // A failed attempt reports none of them; the success that follows is charged for what it made.
    await settle(event("retried", "failure", {}));
    await sql`select upgrade_usage(${sql.json([event("retried", "success", units)] as never)})`;
    expect(await recorded("retried")).toEqual(expected);
  });

  it("refuses a count map that is not the contract's units as whole numbers, in holds and in usage batches", async () => {
    for (const units of [[], 5, "x", { input: 1.5 }, { input: -1 }, { input: "10" }, { bogus: 1 }]) {
      const e = {
        call_id: randomUUID(),
        key_id: randomUUID(),
        model_group: "m",
        status: "success",
        stream: false,
        units,
        started_at: new Date().toISOString(),
        ended_at: new Date().toISOString(),
      };
      await expect(
        sql`select * from settle_usage(${sql.json([e] as never)}, ${randomUUID()}::uuid)`,
        JSON.stringify(units),
      ).rejects.toMatchObject({ code: "TG422" });
      await expect(sql`select upgrade_usage(${sql.json([e] as never)})`).rejects.toMatchObject({
        code: "TG422",
      });
    }
    const [row] = await sql<{ ok: boolean; asked: boolean }[]>`
      select counts_valid('[{"input": 5}]', false) as ok, counts_valid('[{"input": 5}]', true) as asked`;
    // A hold takes only what a call asks for: its prompt and output are its own parameters.
    expect(row).toEqual({ ok: true, asked: false });
  });
});
