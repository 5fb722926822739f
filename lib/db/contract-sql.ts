import { PRICE_UNITS } from "@/lib/billing/contract";

// The SQL side of the billing contract's price units (lib/billing/contract.json, docs/adr/0015), generated: each
// unit's price and cost columns on price_versions, its count column on usage_events, the table price_unit_contract
// (what each unit bills, how it is reserved, where it is counted: billed_kinds, place_hold and upgrade_usage read it),
// and two functions the charge calls per call, every unit written out so they stay as fast as the hand-written
// formula was: unit_rates (a price version's rates as one map; PL/pgSQL) and unit_charge (the units billed apart
// from tokens, each count × rate × scale; a plain expression the planner inlines). `npm run db:function-migration -- --contract …` puts this at the head of
// a generated migration; tests/integration/contract.test.ts and migrations.test.ts fail when a migrated database and
// the contract disagree. Every statement is idempotent: a column that exists is left as it is.

const ident = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`contract.json: ${name} is not a SQL column name`);
  return name;
};
const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** A rate column: nullable where a blank means another rate, else required (0 where a blank means not billed). */
function rateColumn(column: string, blank: string): string {
  const c = ident(column);
  const type = blank === "input rate" || blank === "output rate" ? "bigint" : "bigint not null default 0";
  return `  add column if not exists ${c} ${type} constraint price_versions_${c}_check check (${c} >= 0)`;
}

/** The functions generated from the contract, as sources (migrations.test.ts checks them like supabase/schemas/). */
export function contractFunctions(units = PRICE_UNITS): { name: string; sql: string }[] {
  const rates = (side: "price" | "cost") =>
    `jsonb_build_object(${units.map((u) => `${literal(u.key)}, pv.${ident(u[side].column)}`).join(", ")})`;
  const terms = units
    .filter((u) => u.reserve === "asked" || u.reserve === "always")
    .map(
      (u) =>
        `coalesce((p_counts->>${literal(u.key)})::bigint, 0) * coalesce((p_rates->>${literal(u.key)})::bigint, 0) * ${u.scale}`,
    );
  return [
    {
      name: "unit_rates",
      sql: [
        "-- A price version's rate for every price unit, keyed by unit key: its sell price (p_side 'price') or provider",
        "-- cost ('cost'); null where a blank rate means another. Generated from lib/billing/contract.json. PL/pgSQL:",
        "-- called from PL/pgSQL with a row, a SQL function would be planned again at every call.",
        "create or replace function public.unit_rates(pv public.price_versions, p_side text) returns jsonb",
        "language plpgsql immutable parallel safe as $$",
        "begin",
        "  if p_side = 'price' then",
        `    return ${rates("price")};`,
        "  end if;",
        `  return ${rates("cost")};`,
        "end;",
        "$$;",
      ].join("\n"),
    },
    {
      name: "unit_charge",
      sql: [
        "-- The units billed apart from tokens (the contract's 'asked' and 'always' units), each count × rate × scale, in",
        "-- millionths of a micro-USD (price_units adds the tokens and rounds up once). Generated from",
        "-- lib/billing/contract.json.",
        "create or replace function public.unit_charge(p_counts jsonb, p_rates jsonb) returns bigint",
        "language sql immutable parallel safe as $$",
        `  select ${terms.join("\n         + ") || "0"}`,
        "$$;",
      ].join("\n"),
    },
  ];
}

export function contractSql(units = PRICE_UNITS): string {
  const rates = units.flatMap((u) => [
    rateColumn(u.price.column, u.blank),
    rateColumn(u.cost.column, u.blank),
  ]);
  const counts = units.flatMap((u) =>
    u.count
      ? [
          // Nullable, no default: a zero count is stored as null (docs/adr/0033).
          `  add column if not exists ${ident(u.count.column)} bigint ` +
            `constraint usage_events_${u.count.column}_check check (${u.count.column} >= 0)`,
        ]
      : [],
  );
  const rows = units.map(
    (u, i) =>
      `  (${literal(u.key)}, ${i + 1}, ${literal(ident(u.price.column))}, ${literal(ident(u.cost.column))}, ` +
      `${u.count ? literal(ident(u.count.column)) : "null"}, ${u.scale}, ${literal(u.reserve)}, ` +
      `array[${u.bills.map(literal).join(", ")}]::text[])`,
  );
  return [
    "-- The price units of lib/billing/contract.json (lib/db/contract-sql.ts).",
    `alter table public.price_versions\n${rates.join(",\n")};`,
    `alter table public.usage_events\n${counts.join(",\n")};`,
    [
      "create table if not exists public.price_unit_contract (",
      "  key text primary key,",
      "  position integer not null unique,",
      "  price_column text not null,",
      "  cost_column text not null,",
      "  count_column text,",
      "  scale bigint not null,",
      "  reserve text not null check (reserve in ('prompt', 'output', 'asked', 'always')),",
      "  bills text[] not null",
      ");",
      "alter table public.price_unit_contract enable row level security;",
      "delete from public.price_unit_contract;",
      `insert into public.price_unit_contract (key, position, price_column, cost_column, count_column, scale, reserve, bills) values\n${rows.join(",\n")};`,
    ].join("\n"),
    ...contractFunctions(units).map((f) => f.sql),
  ].join("\n\n");
}
