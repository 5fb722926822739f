// The SQL agrees with the billing contract (lib/billing/contract.json, docs/adr/0014), on a migrated database: every
// price unit's columns exist on price_versions with the type and blank the contract gives, price_units takes every
// unit's count and rate, billed_kinds bills exactly the routes each unit's rate bills (clause 44), usage_events and
// image_rates_valid accept exactly the contract's call kinds, image sizes and qualities; and zod reads the same.
import { describe, expect, it } from "vitest";
import { CALL_KINDS, CONTRACT, IMAGE_QUALITIES, PRICE_UNITS, type PriceUnit } from "@/lib/billing/contract";
import { holdBody, priceBody } from "@/lib/billing/schemas";
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

  it("price_units takes every unit's count and rate, and nothing else", async () => {
    const [proc] = await sql<{ names: string[] }[]>`
      select proargnames as names from pg_proc where proname = 'price_units' and pronamespace = 'public'::regnamespace`;
    const names = proc!.names;
    const counts = PRICE_UNITS.map((u) => u.sql.count);
    const rates = PRICE_UNITS.map((u) => u.sql.rate);
    expect([...names].sort()).toEqual([...counts, ...rates].sort());
    // Each rate prices its own count: one unit of it at 1,000,000 micro-USD per unit (or per million) costs that.
    for (const unit of PRICE_UNITS) {
      const args = names.map((n) => {
        if (n === unit.sql.rate) return 1_000_000;
        if (n === unit.sql.count)
          return unit.sql.count === "p_audio_ms" ? 1000 : unit.perMillion ? 1_000_000 : 1;
        // The unit's container (input for cached/cache-write tokens, output for reasoning) counts the same tokens.
        if (unit.blank === "input rate" && n === "p_input") return 1_000_000;
        if (unit.blank === "output rate" && n === "p_output") return 1_000_000;
        return 0;
      });
      const placeholders = names.map((_, i) => `$${i + 1}::bigint`).join(", ");
      const [priced] = await sql.unsafe<{ charge: string }[]>(
        `select price_units(${placeholders}) as charge`,
        args,
      );
      expect(BigInt(priced!.charge), unit.key).toBe(1_000_000n);
    }
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
