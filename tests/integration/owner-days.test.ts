// The per-day owner roll-ups (usage_owner_days, usage_owner_activity: docs/adr/0024) that the dashboard's 30-day tops
// and active counts read: kept equal to usage_events by its statement triggers (inserts, an upgraded outcome, calls
// either side of a UTC midnight), and the views read from them equal a direct aggregate of the events — including an
// owner that is never among any day's biggest but is the biggest over the range, and ranges that end inside a day.
import { beforeAll, describe, expect, it } from "vitest";
import { usageBreakdown, usageTotals } from "@/lib/analytics/usage";
import { SYSTEM } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";

const { sql } = await createTestDatabase();
const D = ["2026-10-01", "2026-10-02", "2026-10-03"] as const;
const at = (day: string, time: string) => new Date(`${day}T${time}Z`);
const KEYS = 62;

interface Call {
  key: number;
  id: string;
  at: Date;
  revenue: number;
  status?: "success" | "failure";
  prompt?: number;
}

let keyIds: string[] = [];

async function insert(calls: Call[]) {
  await sql`
    insert into usage_events (key_id, call_id, account_id, model_group, status, prompt_tokens,
                              completion_tokens, started_at, ended_at, cost_micros, revenue_micros,
                              error_class)
    select k.id, c.id, k.account_id, 'fake-small', c.status, c.prompt, 10, c.at, c.at, c.revenue / 2, c.revenue,
           case when c.status = 'failure' then 'Timeout' end
    from jsonb_to_recordset(${sql.json(
      calls.map((c) => ({
        key: keyIds[c.key],
        id: c.id,
        at: c.at.toISOString(),
        revenue: c.revenue,
        status: c.status ?? "success",
        prompt: c.prompt ?? 100,
      })),
    )}::jsonb) as c(key uuid, id text, at timestamptz, revenue bigint, status text, prompt int)
    join api_keys k on k.id = c.key`;
}

beforeAll(async () => {
  // 31 persons with two keys each: key 2j and 2j + 1 belong to person j.
  await sql`insert into users (email) select 'owner-' || g || '@example.com' from generate_series(0, 30) g`;
  const keys = await sql<{ id: string }[]>`
    insert into api_keys (user_id, name, prefix, key_hash)
    select u.id, 'key ' || k, 'tg_od', sha256((u.email || k)::bytea)
    from users u cross join generate_series(0, 1) k where u.email like 'owner-%'
    order by substring(u.email from 7 for position('@' in u.email) - 7)::int, k
    returning id`;
  keyIds = keys.map((k) => k.id);
  expect(keyIds).toHaveLength(KEYS);
  // Each day 20 keys of its own earn 1500 + k once, key 61 earns 1000 every day (21st each day, first over the three),
  // the rest 100 + k a day (no two keys or persons tie); so every day has more owners than a day's candidates for a
  // top 2 (20).
  const calls: Call[] = [];
  D.forEach((day, d) => {
    for (let k = 0; k < KEYS; k++) {
      const big = k >= d * 20 && k < d * 20 + 20;
      const revenue = k === 61 ? 1000 : big ? 1500 + k : 100 + k;
      calls.push({
        key: k,
        id: `c-${day}-${k}`,
        at: at(day, `${String(k % 24).padStart(2, "0")}:15:00`),
        revenue,
      });
    }
  });
  await insert(calls.slice(0, 100));
  await insert(calls.slice(100));
  // Either side of the first midnight, one statement; a call that first failed, then an upgrade to success.
  await insert([
    { key: 3, id: "before-midnight", at: new Date(at(D[1], "00:00:00").getTime() - 1), revenue: 7 },
    { key: 3, id: "at-midnight", at: at(D[1], "00:00:00"), revenue: 9 },
    { key: 5, id: "upgraded", at: at(D[2], "23:00:00"), revenue: 0, status: "failure", prompt: 40 },
  ]);
  // Later calls, in the next two 32-day periods of the activity bits (days counted from 1970-01-01).
  await insert([
    { key: 10, id: "later-1", at: at("2026-10-20", "08:00:00"), revenue: 5 },
    { key: 11, id: "later-2", at: at("2026-11-25", "08:00:00"), revenue: 5 },
    { key: 10, id: "later-3", at: at("2026-11-25", "09:00:00"), revenue: 5 },
  ]);
  await sql`
    update usage_events set status = 'success', error_class = null, revenue_micros = 55,
                            cost_micros = 20, completion_tokens = 60
    where call_id = 'upgraded'`;
});

/** What usage_events says, per key or user, over [from, to). */
async function direct(by: "key" | "user", from: Date, to: Date, limit: number) {
  return sql<{ id: string; calls: number; failures: number; revenueMicros: bigint; tokensIn: bigint }[]>`
    select ${by === "key" ? sql`e.key_id` : sql`k.user_id`}::text as id, count(*)::int as calls,
           count(*) filter (where e.status = 'failure')::int as failures,
           sum(e.revenue_micros)::bigint as "revenueMicros", sum(e.prompt_tokens)::bigint as "tokensIn"
    from usage_events e join api_keys k on k.id = e.key_id where e.started_at >= ${from} and e.started_at < ${to}
    group by 1 order by sum(revenue_micros) desc, count(*) desc, 1 limit ${limit}`;
}

const shown = (
  rows: { id: string; calls: number; failures: number; revenueMicros: bigint; tokensIn: bigint }[],
) =>
  rows.map(({ id, calls, failures, revenueMicros, tokensIn }) => ({
    id,
    calls,
    failures,
    revenueMicros,
    tokensIn,
  }));

describe("usage_owner_days and usage_owner_activity", () => {
  it("equal the events' sums per UTC day and key or user, after an upgrade and across midnight", async () => {
    const diff = await sql`
      with raw as (
        select owner_kind, owner_id, day, count(*)::bigint as calls, count(*) filter (where status = 'failure')::bigint as failures,
               sum(prompt_tokens)::bigint as tokens_in, sum(completion_tokens)::bigint as tokens_out,
               sum(revenue_micros)::bigint as revenue_micros, sum(cost_micros)::bigint as cost_micros
        from (select 'key' as owner_kind, key_id as owner_id, (started_at at time zone 'utc')::date as day, * from usage_events
              union all
              select 'user', k.user_id, (u.started_at at time zone 'utc')::date, u.*
              from usage_events u join api_keys k on k.id = u.key_id) e
        group by 1, 2, 3
      ),
      kept as (
        select owner_kind, owner_id, day, calls, failures, tokens_in, tokens_out, revenue_micros, cost_micros
        from usage_owner_days
      )
      (select 'missing' as side, * from raw except select 'missing', * from kept)
      union all
      (select 'extra', * from kept except select 'extra', * from raw)`;
    expect(diff).toEqual([]);
    const activity = await sql`
      with active as (
        select distinct 'key' as owner_kind, key_id as owner_id, (started_at at time zone 'utc')::date - date '1970-01-01' as d
        from usage_events
        union
        select 'user', k.user_id, (u.started_at at time zone 'utc')::date - date '1970-01-01'
        from usage_events u join api_keys k on k.id = u.key_id
      ),
      raw as (
        -- A day's bit in its own period's row (32 + d % 32) and in the next period's (d % 32).
        select owner_kind, period, owner_id, bit_or(bit) as days
        from active cross join lateral (values (d / 32, 1::bigint << (32 + d % 32)), (d / 32 + 1, 1::bigint << (d % 32)))
          as b(period, bit)
        group by 1, 2, 3
      )
      (select * from raw except select owner_kind, period, owner_id, days from usage_owner_activity)
      union all
      (select owner_kind, period, owner_id, days from usage_owner_activity except select * from raw)`;
    expect(activity).toEqual([]);
    // The midnight pair: one call on each day.
    const [k3] = await sql`
      select array_agg(calls order by day)::int[] as calls from usage_owner_days
      where owner_kind = 'key' and owner_id = ${keyIds[3]!} and day in (${D[0]}::date, ${D[1]}::date)`;
    expect(k3!.calls).toEqual([2, 2]);
  });

  it("tops over whole days equal a direct aggregate, the owner never among a day's biggest included", async () => {
    const r = { from: at(D[0], "00:00:00"), to: at("2026-10-04", "00:00:00") };
    const f = { from: D[0], to: D[2] };
    for (const [by, limit] of [
      ["key", 2],
      ["key", 50],
      ["user", 2],
      ["user", 5],
    ] as const) {
      const rows = await usageBreakdown(sql, SYSTEM, f, by, r, limit);
      expect(shown(rows)).toEqual(shown(await direct(by, r.from, r.to, limit)));
    }
    const [top] = await usageBreakdown(sql, SYSTEM, f, "key", r, 2);
    expect(top!.id).toBe(keyIds[61]);
    expect(top!.revenueMicros).toBe(3000n);
    expect(top!.label).toBe("key 1");
  });

  it("counts active keys and users over the range as the events do", async () => {
    const count = async (from: Date, to: Date) => {
      const [row] = await sql<{ keys: number; users: number }[]>`
        select count(distinct u.key_id)::int as keys, count(distinct k.user_id)::int as users
        from usage_events u join api_keys k on k.id = u.key_id
        where u.started_at >= ${from} and u.started_at < ${to}`;
      return { activeKeys: row!.keys, activeUsers: row!.users };
    };
    const cases: [Date, Date][] = [
      [at(D[0], "00:00:00"), at("2026-10-04", "00:00:00")],
      [at(D[1], "00:00:00"), at(D[2], "00:00:00")],
      // Ending inside a day, calls after the end (the events are read) and none after it (the day's bits are).
      [at(D[0], "00:00:00"), at(D[2], "12:00:00")],
      [at(D[0], "00:00:00"), at(D[2], "23:30:00")],
      [at(D[0], "00:00:00"), at(D[1], "00:00:00")],
      // Across a period's end (one row per owner), and longer than 33 days (each period's own days, owners once).
      [at(D[1], "00:00:00"), at("2026-10-21", "00:00:00")],
      [at(D[0], "00:00:00"), at("2026-11-26", "00:00:00")],
      [at("2026-10-20", "00:00:00"), at("2026-11-26", "00:00:00")],
      [at("2026-10-21", "00:00:00"), at("2026-11-26", "00:00:00")],
      [at("2026-11-25", "00:00:00"), at("2026-11-26", "00:00:00")],
    ];
    for (const [from, to] of cases) {
      const totals = await usageTotals(sql, SYSTEM, { from: from.toISOString() }, { from, to });
      expect({ activeKeys: totals.activeKeys, activeUsers: totals.activeUsers }).toEqual(
        await count(from, to),
      );
    }
  });

  it("a range ending inside a day with calls after its end is read from the events", async () => {
    const r = { from: at(D[0], "00:00:00"), to: at(D[2], "12:00:00") };
    const rows = await usageBreakdown(sql, SYSTEM, { from: D[0] }, "key", r, 50);
    expect(shown(rows)).toEqual(shown(await direct("key", r.from, r.to, 50)));
    const late = { from: r.from, to: at(D[2], "23:30:00") };
    const all = await usageBreakdown(sql, SYSTEM, { from: D[0] }, "user", late, 50);
    expect(shown(all)).toEqual(shown(await direct("user", late.from, late.to, 50)));
  });

  it("the tops are read from usage_owner_days (a mark on a row shows through)", async () => {
    const r = { from: at(D[0], "00:00:00"), to: at("2026-10-04", "00:00:00") };
    await sql`update usage_owner_days set revenue_micros = revenue_micros + 5000
              where owner_kind = 'key' and owner_id = ${keyIds[7]!} and day = ${D[1]}::date`;
    try {
      const [top] = await usageBreakdown(sql, SYSTEM, { from: D[0] }, "key", r, 1);
      expect(top).toMatchObject({ id: keyIds[7], revenueMicros: 6721n });
    } finally {
      await sql`update usage_owner_days set revenue_micros = revenue_micros - 5000
                where owner_kind = 'key' and owner_id = ${keyIds[7]!} and day = ${D[1]}::date`;
    }
  });
});
