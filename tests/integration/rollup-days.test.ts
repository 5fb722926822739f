// usage_rollup_days (usage_rollups' platform totals per UTC day, model group and billing status, kept by its statement
// triggers) against the sums it stands for, under generated statements: inserts (with and without ON CONFLICT DO
// UPDATE), updates, deletes, truncates, transactions rolled back, and statements racing on the same days.
// whole_settled_days' platform check, which reads it, must answer as the same check summing usage_rollups answers.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Sql } from "@/lib/db/client";
import { createTestDatabase } from "../helpers/db";

const { sql } = await createTestDatabase();

const DAYS = ["2028-02-28", "2028-02-29", "2028-03-01"] as const;
const STATUSES = ["exact", "estimated", "waived"] as const;
const ACCOUNTS = [randomUUID(), randomUUID()];
const KEYS = [randomUUID(), randomUUID()];
const MODELS = ["fake-small", "fake-large"];

interface Rollup {
  day: string;
  account: string;
  key: string;
  model: string;
  status: string;
  requests: number;
  revenue: number;
}

const rollup: fc.Arbitrary<Rollup> = fc.record({
  day: fc.constantFrom(...DAYS),
  account: fc.constantFrom(...ACCOUNTS),
  key: fc.constantFrom(...KEYS),
  model: fc.constantFrom(...MODELS),
  status: fc.constantFrom(...STATUSES),
  requests: fc.integer({ min: 0, max: 5 }),
  revenue: fc.integer({ min: 0, max: 1_000 }),
});

type Op =
  | { op: "insert"; rows: Rollup[]; upsert: boolean }
  | { op: "update"; day: string; requests: number; revenue: number }
  | { op: "delete"; day: string; status: string }
  | { op: "truncate" }
  | { op: "rolledBack"; rows: Rollup[] };

const ops: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("insert" as const),
      rows: fc.array(rollup, { minLength: 1, maxLength: 8 }),
      upsert: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("update" as const),
      day: fc.constantFrom(...DAYS),
      requests: fc.integer({ min: -2, max: 3 }),
      revenue: fc.integer({ min: -50, max: 200 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("delete" as const),
      day: fc.constantFrom(...DAYS),
      status: fc.constantFrom(...STATUSES),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("rolledBack" as const),
      rows: fc.array(rollup, { minLength: 1, maxLength: 4 }),
    }),
  },
);

function insert(db: Sql, rows: Rollup[], upsert: boolean) {
  return db`
    insert into usage_rollups (day, account_id, key_id, model_group, billing_status, requests, tokens_in, tokens_out,
                               cost_micros, revenue_micros)
    select r.day::date, r.account::uuid, r.key::uuid, r.model, r.status, r.requests, 7 * r.requests, 3 * r.revenue,
           r.revenue / 2, r.revenue
    from jsonb_to_recordset(${rows as never}::jsonb)
      as r(day text, account text, key text, model text, status text, requests int, revenue bigint)
    ${
      upsert
        ? db`on conflict (day, account_id, key_id, model_group, billing_status) do update
             set requests = usage_rollups.requests + excluded.requests,
                 tokens_in = usage_rollups.tokens_in + excluded.tokens_in,
                 revenue_micros = usage_rollups.revenue_micros + excluded.revenue_micros`
        : db`on conflict do nothing`
    }`;
}

async function apply(db: Sql, o: Op) {
  if (o.op === "insert") {
    // Rows repeating a primary key in one statement: ON CONFLICT DO UPDATE may not touch a row twice.
    const seen = new Set<string>();
    const rows = o.rows.filter((r) => {
      const k = `${r.day}|${r.account}|${r.key}|${r.model}|${r.status}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    await insert(db, rows, o.upsert);
  } else if (o.op === "update") {
    await db`update usage_rollups set requests = greatest(requests + ${o.requests}, 0),
                                      tokens_out = tokens_out + 2 * ${o.requests},
                                      cost_micros = cost_micros + ${o.revenue} / 3,
                                      revenue_micros = revenue_micros + ${o.revenue}
             where day = ${o.day}::date`;
  } else if (o.op === "delete") {
    await db`delete from usage_rollups where day = ${o.day}::date and billing_status = ${o.status}`;
  } else if (o.op === "truncate") {
    await db`truncate usage_rollups`;
  } else {
    await db
      .begin(async (tx) => {
        await insert(tx as unknown as Sql, o.rows.slice(0, 1), false);
        throw new Error("rolled back");
      })
      .catch((error: Error) => {
        if (error.message !== "rolled back") throw error;
      });
  }
}

/** usage_rollup_days against usage_rollups' own sums, leaving out the groups that sum to nothing on both sides. */
async function totals() {
  const [row] = await sql<{ kept: unknown; truth: unknown }[]>`
    select (select coalesce(jsonb_agg(x order by x.day, x.model_group, x.billing_status), '[]') from (
              select day, model_group, billing_status, sum(requests)::bigint as requests, sum(tokens_in)::bigint as tokens_in,
                     sum(tokens_out)::bigint as tokens_out, sum(cost_micros)::bigint as cost,
                     sum(revenue_micros)::bigint as revenue
              from usage_rollups group by day, model_group, billing_status
              having (sum(requests), sum(tokens_in), sum(tokens_out), sum(cost_micros), sum(revenue_micros))
                     <> (0, 0, 0, 0, 0)) x) as truth,
           (select coalesce(jsonb_agg(x order by x.day, x.model_group, x.billing_status), '[]') from (
              select day, model_group, billing_status, requests, tokens_in, tokens_out, cost_micros as cost,
                     revenue_micros as revenue
              from usage_rollup_days
              where (requests, tokens_in, tokens_out, cost_micros, revenue_micros) <> (0, 0, 0, 0, 0)) x) as kept`;
  return row!;
}

/** whole_settled_days' platform check as it was before usage_rollup_days: usage_rollups summed per day and status. */
async function wholeDaysSummingRollups(from: string, to: string) {
  const rows = await sql<{ day: string }[]>`
    with settled as (
      select distinct r.day from settlement_runs r where r.status = 'completed' and r.day >= ${from}::date and r.day <= ${to}::date
    ),
    rolled as (
      select u.day, u.billing_status, sum(u.requests)::numeric as calls, sum(u.revenue_micros)::numeric as revenue
      from usage_rollups u where u.day in (select day from settled) group by u.day, u.billing_status
    ),
    kept as (
      select h.hour::date as day, h.billing_status, sum(h.calls)::numeric as calls, sum(h.revenue_micros)::numeric as revenue
      from usage_hourly h
      where h.hour >= ${from}::timestamp and h.hour < (${to}::date + 1)::timestamp and h.hour::date in (select day from settled)
      group by h.hour::date, h.billing_status
    ),
    differ as (
      select coalesce(k.day, r.day) as day
      from kept k full join rolled r on r.day = k.day and r.billing_status = k.billing_status
      where (coalesce(k.calls, 0), coalesce(k.revenue, 0)) <> (coalesce(r.calls, 0), coalesce(r.revenue, 0))
    )
    select to_char(s.day, 'YYYY-MM-DD') as day from settled s
    where not exists (select 1 from kept k where k.day = s.day) or s.day not in (select d.day from differ d)
    order by 1`;
  return rows.map((r) => r.day);
}

async function wholeDays(from: string, to: string) {
  const rows = await sql<{ day: string }[]>`
    select to_char(w.day, 'YYYY-MM-DD') as day from whole_settled_days(${from}::date, ${to}::date, null, null) w(day)
    order by 1`;
  return rows.map((r) => r.day);
}

describe("usage_rollup_days", () => {
  it("equals usage_rollups' sums per day, model group and billing status after any sequence of statements", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ops, { minLength: 1, maxLength: 12 }), async (sequence) => {
        await sql`truncate usage_rollups`;
        for (const o of sequence) await apply(sql, o);
        const t = await totals();
        expect(t.kept).toEqual(t.truth);
      }),
      { numRuns: 60 },
    );
  });

  it("stays equal when statements on the same days race", async () => {
    await sql`truncate usage_rollups`;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          ops.filter((o) => o.op !== "truncate"),
          { minLength: 4, maxLength: 10 },
        ),
        async (sequence) => {
          // Each statement in its own transaction (a rolled-back one in its own too), all at once; one that deadlocks or
          // meets a unique race is retried.
          await Promise.all(
            sequence.map(async (o) => {
              for (let attempt = 0; ; attempt++) {
                try {
                  return await apply(sql, o);
                } catch (error) {
                  const code = (error as { code?: string }).code;
                  if (attempt < 5 && (code === "40P01" || code === "23505" || code === "40001")) continue;
                  throw error;
                }
              }
            }),
          );
          const t = await totals();
          expect(t.kept).toEqual(t.truth);
        },
      ),
      { numRuns: 20 },
    );
  });

  it("makes whole_settled_days' platform check answer as summing usage_rollups does", async () => {
    const hourly = fc.record({
      day: fc.constantFrom(...DAYS),
      hour: fc.integer({ min: 0, max: 23 }),
      status: fc.constantFrom(...STATUSES),
      calls: fc.integer({ min: 0, max: 6 }),
      revenue: fc.integer({ min: 0, max: 1_200 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(ops, { minLength: 1, maxLength: 8 }),
        fc.array(hourly, { maxLength: 8 }),
        fc.subarray([...DAYS]),
        async (sequence, hours, settled) => {
          await sql`truncate usage_rollups`;
          await sql`delete from usage_hourly`;
          await sql`delete from settlement_runs`;
          for (const o of sequence) await apply(sql, o);
          for (const h of hours)
            await sql`
              insert into usage_hourly (hour, model_group, kind, status, billing_status, calls, revenue_micros)
              values (${`${h.day} ${String(h.hour).padStart(2, "0")}:00`}::timestamp, 'fake-small', 'chat', 'success',
                      ${h.status}, ${h.calls}, ${h.revenue})
              on conflict (hour, model_group, kind, status, billing_status) do update
                set calls = usage_hourly.calls + excluded.calls,
                    revenue_micros = usage_hourly.revenue_micros + excluded.revenue_micros`;
          // Mirror a rolled-up day's totals into its hours now and then, so that some days agree.
          if (hours.length % 2 === 0)
            await sql`
              insert into usage_hourly (hour, model_group, kind, status, billing_status, calls, revenue_micros)
              select day::timestamp + interval '5 hours', 'fake-large', 'chat', 'success', billing_status,
                     sum(requests), sum(revenue_micros)
              from usage_rollup_days group by day, billing_status having sum(requests) >= 0
              on conflict (hour, model_group, kind, status, billing_status) do nothing`;
          for (const day of settled)
            await sql`insert into settlement_runs (day, trigger, status) values (${day}::date, 'manual', 'completed')`;
          expect(await wholeDays(DAYS[0], DAYS[2])).toEqual(await wholeDaysSummingRollups(DAYS[0], DAYS[2]));
        },
      ),
      { numRuns: 60 },
    );
  });
});
