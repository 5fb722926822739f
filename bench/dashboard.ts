// bench/dashboard: the admin dashboard's read paths at sim:day's scale, without its HTTP ingest.
//
// Seeds sim:day's shape set-based: 50,000 persons, 1,000 organizations (5 members each), 100,000 keys (1 in 5 an
// organization's), sim:day's six models, and one UTC day (sim:day's SIM_DAY) of 1,000,000 calls over those keys
// (skewed: a few keys carry much of the traffic; every call kind, 2 % failures) inserted into usage_events in
// statements of 100,000 rows, so the roll-up triggers keep their tables as ingest does. The day's usage_rollups are
// written by the settlement's own roll-up statement, then 29 more days of roll-ups are synthesized as sim:day does
// (set-based copies of the day's, a day earlier each time: usage_hourly, usage_rollups, the per-day owner roll-ups
// and their activity, completed settlement runs). Then times what the pages ask for, through the functions they call
// — the overview (the day as today), usage analytics over the 30 days (no filter; by user; by key), the request log —
// p50/p95 of BENCH_READS runs after a warm-up each, and checks the 30-day tops against a direct aggregate.
//   npm run bench:dashboard          (BENCH_EVENTS, BENCH_READS, BENCH_PG_PORT for the database's port; BENCH_DOCS=0
//                                     prints without writing docs/benchmarks.md)
import { overview } from "@/lib/analytics/overview";
import { exportRequests, listRequests } from "@/lib/analytics/requests";
import { resolveRange, usageBreakdown, usageSeries, usageTotals } from "@/lib/analytics/usage";
import type { Actor } from "@/lib/auth/types";
import { dailySpend, listUsage, usageByModel } from "@/lib/billing/accounts";
import { accountLedger } from "@/lib/billing/ledger";
import type { Sql } from "@/lib/db/client";
import { orgPage, orgSpend } from "@/lib/orgs/overview";
import { modelHealth } from "@/lib/routing/health";
import { MODELS, SIM_DAY, synthesizeRollups } from "@/sim/day";
import { f1, freshBenchDatabase, machine, percentile, writeSection } from "./lib";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const READS = Number(process.env.BENCH_READS ?? 20);
const KEYS = 100_000;
const PERSONS = 50_000;
const ORGS = 1_000;
const ROLLUP_DAYS = 29;
const CHUNK = 100_000;
const DAY = SIM_DAY;
const DAY_MS = 86_400_000;
const ADMIN: Actor = { userId: null, kind: "system" };

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  process.stdout.write(`▸ ${name}… `);
  const t = performance.now();
  const out = await fn();
  console.log(`${f1((performance.now() - t) / 1000)} s`);
  return out;
}

/** Persons, organizations with members, keys: sim:day's setup, without its funding, leases and holds. */
async function seedOwners(sql: Sql) {
  const since = new Date(Date.parse(`${DAY}T00:00:00Z`) - 60 * DAY_MS);
  for (const m of MODELS) {
    const mm = m as { image?: number; characters?: number; audioSecond?: number };
    await sql`
      with model as (
        insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
        values (${m.name}, ${m.name}, 'fake', 128000, 4096) returning id
      )
      insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros,
                                  output_price_micros, image_cost_micros, image_price_micros, character_cost_micros,
                                  character_price_micros, audio_second_cost_micros, audio_second_price_micros)
      select id, ${since}, ${Math.floor(m.input * 0.6)}, ${Math.floor(m.output * 0.6)}, ${m.input}, ${m.output},
             ${Math.floor((mm.image ?? 0) * 0.6)}, ${mm.image ?? 0}, ${Math.floor((mm.characters ?? 0) * 0.6)},
             ${mm.characters ?? 0}, ${Math.floor((mm.audioSecond ?? 0) * 0.6)}, ${mm.audioSecond ?? 0}
      from model`;
  }
  await sql`
    insert into users (email, name, role)
    select 'sim-' || g || '@example.com', 'Sim person ' || g, 'developer' from generate_series(0, ${PERSONS - 1}) g`;
  await sql`
    insert into organizations (name, slug, created_by)
    select 'Sim org ' || g, 'sim-org-' || g, u.id from generate_series(0, ${ORGS - 1}) g
    join users u on u.email = 'sim-' || (g * 5) || '@example.com'`;
  await sql`insert into accounts (kind, organization_id) select 'team', id from organizations where slug like 'sim-org-%'`;
  await sql`
    insert into organization_members (organization_id, user_id, role)
    select o.id, u.id, case when m = 0 then 'owner' else 'member' end
    from organizations o cross join generate_series(0, 4) m
    join users u on u.email = 'sim-' || (substring(o.slug from 9)::int * 5 + m) || '@example.com'
    where o.slug like 'sim-org-%'`;
  await sql`create table bench_keys (key_index integer primary key, key_id uuid not null, user_id uuid not null,
                                     account_id uuid not null)`;
  await sql`
    with spec as (
      select g as n,
             case when g % 5 = 0 then (g / 5) % ${ORGS} end as org,
             case when g % 5 = 0 then ((g / 5) % ${ORGS}) * 5 + (g / 5 / ${ORGS}) % 5 else g % ${PERSONS} end as person
      from generate_series(0, ${KEYS - 1}) g
    ),
    resolved as (
      select s.n, u.id as user_id, coalesce(ta.id, pa.id) as account_id
      from spec s
      join users u on u.email = 'sim-' || s.person || '@example.com'
      join accounts pa on pa.owner_user_id = u.id
      left join organizations og on og.slug = 'sim-org-' || s.org
      left join accounts ta on ta.organization_id = og.id
    ),
    ins as (
      insert into api_keys (user_id, account_id, name, prefix, key_hash)
      select user_id, account_id, 'sim key ' || n, 'tg_sim', sha256(('sim-key-' || n)::bytea)
      from resolved order by n
      returning id, name, user_id, account_id
    )
    insert into bench_keys select substring(name from 9)::int, id, user_id, account_id from ins`;
  await sql`analyze`;
}

/**
 * Calls first..last of the day, as one INSERT (the roll-up triggers see them as one statement, as they see a webhook
 * batch). Each call is a pure function of its number: hash-derived uniforms pick the key (skewed: u³), kind, model,
 * tokens and outcome; the price is the price book's, rounded up.
 */
async function insertCalls(sql: Sql, first: number, last: number) {
  const prices = MODELS.map((m) => {
    const mm = m as { image?: number; characters?: number; audioSecond?: number };
    return {
      name: m.name,
      input: m.input,
      output: m.output,
      image: mm.image ?? 0,
      characters: mm.characters ?? 0,
      audioSecond: mm.audioSecond ?? 0,
    };
  });
  await sql`
    with p as (
      select * from jsonb_to_recordset(${sql.json(prices)}::jsonb)
        as p(name text, input bigint, output bigint, image bigint, characters bigint, "audioSecond" bigint)
    ),
    u as (
      select g,
             -- Uniforms in [0, 1) from the call's number (deterministic, independent per purpose).
             (('x' || substr(md5(g || ':k'), 1, 8))::bit(32)::bigint / 4294967296.0) as uk,
             (('x' || substr(md5(g || ':m'), 1, 8))::bit(32)::bigint / 4294967296.0) as um,
             (('x' || substr(md5(g || ':t'), 1, 8))::bit(32)::bigint / 4294967296.0) as ut,
             (('x' || substr(md5(g || ':f'), 1, 8))::bit(32)::bigint / 4294967296.0) as uf
      from generate_series(${first}::int, ${last}::int) g
    ),
    c as (
      select u.g, least(${KEYS - 1}::int, floor(${KEYS}::int * u.uk ^ 3)::int) as key_index,
             case when u.um < 0.6 then 'chat' when u.um < 0.7 then 'responses' when u.um < 0.8 then 'messages'
                  when u.um < 0.83 then 'completion' when u.um < 0.95 then 'embedding' when u.um < 0.97 then 'image'
                  when u.um < 0.985 then 'speech' else 'transcription' end as kind,
             u.ut, u.uf < 0.02 as failed,
             ${DAY}::date::timestamp at time zone 'utc'
               + make_interval(secs => (u.g + 0.5) * 86340.0 / ${EVENTS}::int) as started_at
      from u
    ),
    e as (
      select c.*,
             case c.kind when 'embedding' then 'sim-embed' when 'image' then 'sim-image' when 'speech' then 'sim-tts'
                         when 'transcription' then 'sim-stt'
                         else case when c.kind = 'completion' or c.ut < 0.7 then 'sim-small' else 'sim-large' end end
               as model,
             case when c.kind in ('chat', 'completion', 'responses', 'messages', 'embedding')
                  then 20 + floor(c.ut * 3981)::int else 0 end as prompt,
             case when c.kind in ('chat', 'completion', 'responses', 'messages') and not c.failed
                  then 5 + floor(c.ut * 7919)::int % 996 else 0 end as completion,
             case when c.kind = 'image' then 1 + floor(c.ut * 4)::int else 0 end as images,
             case when c.kind = 'transcription' then 1000 + floor(c.ut * 599001)::int else 0 end as audio_ms,
             case when c.kind = 'speech' then 50 + floor(c.ut * 4951)::int else 0 end as characters
      from c
    )
    insert into usage_events (key_id, call_id, account_id, org, model_group, kind, status, prompt_tokens,
                              completion_tokens, images, audio_ms, characters, started_at, ended_at,
                              cost_micros, revenue_micros, error_class)
    select k.key_id, 'bench-' || e.g, k.account_id, ka.org, e.model, e.kind,
           case when e.failed then 'failure' else 'success' end, e.prompt, e.completion,
           case when e.failed then 0 else e.images end, case when e.failed then 0 else e.audio_ms end,
           case when e.failed then 0 else e.characters end, e.started_at, e.started_at + interval '800 milliseconds',
           case when e.failed then 0 else x.price * 6 / 10 end, case when e.failed then 0 else x.price end,
           case when e.failed then 'RateLimitError' end
    from e join bench_keys k on k.key_index = e.key_index join p on p.name = e.model
    left join lateral (select true as org from accounts a where a.id = k.account_id and a.kind = 'team') ka on true
    cross join lateral (
      select (e.prompt * p.input + e.completion * p.output + 999999) / 1000000 + e.images * p.image
             + (e.characters * p.characters + 999999) / 1000000 + ((e.audio_ms + 999) / 1000) * p."audioSecond" as price
    ) x`;
}

/** The day's usage_rollups as the settlement writes them (one statement over the day's detail), its run completed. */
async function settleDay(sql: Sql) {
  await sql`
    insert into usage_rollups (day, account_id, key_id, model_group, billing_status, requests, tokens_in, tokens_out,
                               cost_micros, revenue_micros)
    select ${DAY}::date, account_id, key_id, model_group, billing_status(status), count(*), sum(prompt_tokens),
           sum(completion_tokens), sum(cost_micros), sum(revenue_micros)
    from usage_events
    where started_at >= ${DAY}::date::timestamp at time zone 'utc'
      and started_at < (${DAY}::date + 1)::timestamp at time zone 'utc'
    group by account_id, key_id, model_group, billing_status(status)`;
  await sql`
    insert into settlement_runs (day, status, trigger, started_at, finished_at)
    values (${DAY}::date, 'completed', 'cron', now(), now())`;
}

async function timed(name: string, fn: () => Promise<unknown>) {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < READS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const row = { name, p50: percentile(times, 50), p95: percentile(times, 95) };
  console.log(`  ${name}: p50 ${f1(row.p50)} ms, p95 ${f1(row.p95)} ms`);
  return row;
}

async function main() {
  console.log(`Tollgate dashboard read paths — ${machine()}`);
  const db = await freshBenchDatabase("tollgate_bench_dashboard", 8, {
    dir: ".data/pg-bench-dashboard",
    port: 25641,
  });
  const { sql } = db;
  try {
    await step(`seeding ${fmt(PERSONS)} persons, ${fmt(ORGS)} organizations, ${fmt(KEYS)} keys`, () =>
      seedOwners(sql),
    );
    await sql`select ensure_usage_partitions(${DAY}::date - ${ROLLUP_DAYS}::int, ${DAY}::date + 1)`;
    const ingest = await step(
      `inserting ${fmt(EVENTS)} calls of ${DAY} in statements of ${fmt(CHUNK)}`,
      async () => {
        const t = performance.now();
        for (let first = 0; first < EVENTS; first += CHUNK)
          await insertCalls(sql, first, Math.min(EVENTS, first + CHUNK) - 1);
        return (performance.now() - t) / 1000;
      },
    );
    await step("the day's usage_rollups (the settlement's roll-up statement)", () => settleDay(sql));
    await step(`synthesizing ${ROLLUP_DAYS} more days of roll-ups`, () =>
      synthesizeRollups(sql, DAY, ROLLUP_DAYS),
    );
    await step("vacuum analyze", () => sql`vacuum analyze`);
    const [sizes] = await sql<
      { events: number; rollups: number; hourly: number; ownerRows: number; mb: Record<string, number> }[]
    >`
      select (select count(*) from usage_events)::int as events, (select count(*) from usage_rollups)::int as rollups,
             (select count(*) from usage_hourly)::int as hourly,
             (select count(*) from usage_owner_days)::int as "ownerRows",
             (select jsonb_object_agg(t, round(pg_total_relation_size(t::regclass) / 1048576.0))
              from unnest(array['usage_rollups', 'usage_hourly', 'usage_owner_days', 'usage_owner_activity']) t) as mb`;
    const sizeLine = `usage_rollups ${fmt(sizes!.rollups)} rows (${fmt(sizes!.mb.usage_rollups!)} MB), usage_hourly ${fmt(sizes!.hourly)} rows (${fmt(sizes!.mb.usage_hourly!)} MB), usage_owner_days ${fmt(sizes!.ownerRows)} rows (${fmt(sizes!.mb.usage_owner_days!)} MB), usage_owner_activity ${fmt(sizes!.mb.usage_owner_activity!)} MB`;
    console.log(`  usage_events ${fmt(sizes!.events)} rows; ${sizeLine}`);

    const dayEnd = new Date(Date.parse(`${DAY}T00:00:00Z`) + DAY_MS - 1000);
    const from = new Date(Date.parse(`${DAY}T00:00:00Z`) - ROLLUP_DAYS * DAY_MS).toISOString().slice(0, 10);
    const wide = { from, to: DAY };
    const month = resolveRange(wide);
    const [deep] = await sql<{ micros: string; id: string }[]>`
      select (extract(epoch from started_at) * 1000000)::bigint::text as micros, id::text as id
      from usage_events order by started_at desc, id desc offset ${Math.floor(EVENTS / 2)} limit 1`;
    const deepCursor = Buffer.from(`${deep!.micros}:${deep!.id}`).toString("base64url");

    // The busiest key and its user (a narrow view's worst case), over the day's last 7 days.
    const [someKey] = await sql<{ id: string; user_id: string }[]>`
      select k.id::text as id, k.user_id::text as user_id from usage_owner_days o join api_keys k on k.id = o.owner_id
      where o.owner_kind = 'key' and o.day = ${DAY}::date order by o.calls desc limit 1`;
    const week = {
      from: new Date(dayEnd.getTime() - 7 * DAY_MS).toISOString(),
      to: DAY,
      userId: someKey!.user_id,
    };
    // The organization with the most calls on the day (its page's worst case), read at the day's end.
    const [busiestOrg] = await sql<{ slug: string; calls: number }[]>`
      select o.slug, sum(d.calls)::int as calls from usage_owner_days d join api_keys k on k.id = d.owner_id
      join accounts a on a.id = k.account_id join organizations o on o.id = a.organization_id
      where d.owner_kind = 'key' and d.day = ${DAY}::date group by o.slug order by 2 desc limit 1`;
    // The person's account with the most calls on the day (its account page's worst case).
    const [busiestPerson] = await sql<{ account_id: string; calls: number }[]>`
      select k.account_id, sum(d.calls)::int as calls from usage_owner_days d join api_keys k on k.id = d.owner_id
      join accounts a on a.id = k.account_id
      where d.owner_kind = 'key' and d.day = ${DAY}::date and a.kind = 'user' group by k.account_id order by 2 desc limit 1`;
    const atDayEnd = <T>(fn: (tx: Sql) => Promise<T>) =>
      sql.begin(async (tx) => {
        await tx`select set_config('tollgate.now', ${dayEnd.toISOString()}, true)`;
        return fn(tx as unknown as Sql);
      }) as Promise<T>;
    console.log(`▸ reads (p50/p95 of ${READS} after a warm-up)`);
    const rows = [
      await timed(
        "overview (the day as today: totals today and 30 days, 24 h and 30-day series, tops, low accounts)",
        () => overview(sql, ADMIN, dayEnd),
      ),
      await timed("analytics, 30 days (totals + daily series + by model)", () =>
        Promise.all([
          usageTotals(sql, ADMIN, wide, month),
          usageSeries(sql, ADMIN, wide, "day", month),
          usageBreakdown(sql, ADMIN, wide, "model", month),
        ]),
      ),
      await timed("analytics, 30 days by user (top 50)", () =>
        usageBreakdown(sql, ADMIN, wide, "user", month),
      ),
      await timed("analytics, 30 days by key (top 50)", () => usageBreakdown(sql, ADMIN, wide, "key", month)),
      await timed("analytics, one user over 7 days (totals + hourly series + by key)", () => {
        const r = resolveRange(week);
        return Promise.all([
          usageTotals(sql, ADMIN, week, r),
          usageSeries(sql, ADMIN, week, "hour", r),
          usageBreakdown(sql, ADMIN, week, "key", r),
        ]);
      }),
      await timed(
        "margins, 30 days (the admin usage page: daily spend and usage by model, all accounts)",
        () => atDayEnd((tx) => Promise.all([dailySpend(tx, ADMIN, null, 30), usageByModel(tx, ADMIN, 30)])),
      ),
      await timed("request log, first page (50)", () => listRequests(sql, ADMIN, { ...wide, limit: 50 })),
      await timed("request log, one key's first page", () =>
        listRequests(sql, ADMIN, { ...wide, keyId: someKey!.id, limit: 50 }),
      ),
      await timed("request log, failures only, first page", () =>
        listRequests(sql, ADMIN, { ...wide, status: "failure", limit: 50 }),
      ),
      await timed(`request log, a page ${fmt(EVENTS / 2)} rows deep (cursor)`, () =>
        listRequests(sql, ADMIN, { ...wide, limit: 50, cursor: deepCursor }),
      ),
      await timed(
        `an organization's page, the busiest (${fmt(busiestOrg!.calls)} calls on the day): this month by member, key and model, 30 days`,
        () => atDayEnd(async (tx) => orgSpend(tx, ADMIN, await orgPage(tx, ADMIN, busiestOrg!.slug))),
      ),
      await timed(
        `an account's recent calls and ledger, first page, the busiest person's (${fmt(busiestPerson!.calls)} calls on the day)`,
        () =>
          Promise.all([
            listUsage(sql, ADMIN, busiestPerson!.account_id, { page: 1, pageSize: 20 }),
            accountLedger(sql, busiestPerson!.account_id, { page: 1, pageSize: 20 }),
          ]),
      ),
      await timed("model health, the last hour and the last 24 hours at the day's end", () =>
        Promise.all([modelHealth(sql, ADMIN, dayEnd, 1), modelHealth(sql, ADMIN, dayEnd, 24)]),
      ),
    ];

    // The CSV export of the day (every call): rows/s and the process's memory (constant memory is the point).
    const csv = await step("CSV export of the day", async () => {
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let peak = rssBefore;
      const started = performance.now();
      const reader = (await exportRequests(sql, ADMIN, wide)).getReader();
      let bytes = 0;
      let lines = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        for (const b of value) if (b === 10) lines++;
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      return {
        rows: lines - 1,
        mb: bytes / 2 ** 20,
        seconds: (performance.now() - started) / 1000,
        rssBefore,
        peak,
      };
    });
    const csvLine = `${fmt(csv.rows)} rows (${f1(csv.mb)} MB) in ${f1(csv.seconds)} s (${fmt(csv.rows / csv.seconds)} rows/s), streamed from a server-side cursor; RSS ${f1(csv.rssBefore / 2 ** 20)} MB → peak ${f1(csv.peak / 2 ** 20)} MB`;
    console.log(`  ${csvLine}`);

    // The overview's parts alone (what its one round of parallel queries waits for).
    const midnight = new Date(Date.parse(`${DAY}T00:00:00Z`));
    const monthRange = { from: new Date(midnight.getTime() - 29 * DAY_MS), to: dayEnd };
    const todayRange = { from: midnight, to: dayEnd };
    const parts: { name: string; p50: number }[] = [];
    for (const [name, fn] of [
      ["totals today", () => usageTotals(sql, ADMIN, {}, todayRange)],
      ["totals 30 days", () => usageTotals(sql, ADMIN, {}, monthRange)],
      [
        "24 h series",
        () => usageSeries(sql, ADMIN, {}, "hour", { from: new Date(dayEnd.getTime() - DAY_MS), to: dayEnd }),
      ],
      ["30-day series", () => usageSeries(sql, ADMIN, {}, "day", monthRange)],
      ["top users", () => usageBreakdown(sql, ADMIN, {}, "user", monthRange, 5)],
      ["top keys", () => usageBreakdown(sql, ADMIN, {}, "key", monthRange, 5)],
      ["top models", () => usageBreakdown(sql, ADMIN, {}, "model", monthRange, 5)],
    ] as const) {
      await fn();
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await fn();
        times.push(performance.now() - t);
      }
      parts.push({
        name,
        p50: percentile(
          times.sort((a, b) => a - b),
          50,
        ),
      });
    }
    const partsLine = parts.map((p) => `${p.name} ${f1(p.p50)} ms`).join(", ");
    console.log(`  overview parts alone (p50 of 5): ${partsLine}`);

    // The tops the pages showed, against a direct aggregate of the roll-ups the settlement wrote (usage_rollups: the
    // day's detail, and its copies).
    const check = await step(
      "checking the 30-day tops against a direct aggregate of usage_rollups",
      async () => {
        const shown = await overview(sql, ADMIN, dayEnd);
        const direct = async (by: "user" | "key") =>
          sql<{ id: string; revenue: string; calls: number }[]>`
          select ${by === "user" ? sql`k.user_id` : sql`r.key_id`}::text as id, sum(r.revenue_micros)::text as revenue,
                 sum(r.requests)::int as calls
          from usage_rollups r join api_keys k on k.id = r.key_id
          where r.day between ${from}::date and ${DAY}::date
          group by 1 order by sum(r.revenue_micros) desc, sum(r.requests) desc limit 5`;
        const same = (
          a: { id: string; revenueMicros: bigint; calls: number }[],
          b: Awaited<ReturnType<typeof direct>>,
        ) =>
          a.length === b.length &&
          a.every(
            (r, i) =>
              r.id === b[i]!.id && r.revenueMicros.toString() === b[i]!.revenue && r.calls === b[i]!.calls,
          );
        return {
          users: same(shown.top.users, await direct("user")),
          keys: same(shown.top.keys, await direct("key")),
          activeKeys: shown.last30Days.activeKeys,
          activeUsers: shown.last30Days.activeUsers,
        };
      },
    );
    console.log(`  ${JSON.stringify(check)}`);

    // What the triggers add to a webhook batch: roll_up_owner_days beside roll_up_usage_delta, each on 20 batches of
    // 1,000 of the day's calls (consecutive, as a batch carries them; their rows of the day already there), each call
    // its own transaction as a batch's is. The reads are done: the roll-ups count these calls twice from here.
    const perBatch = await step("the roll-up triggers' functions on batches of 1,000 calls", async () => {
      const batches = 20;
      await sql`create table b_batches as
                select n, array_agg(u) as rows
                from (select b.u, (row_number() over (order by (b.u).started_at) - 1) / 1000 as n
                      from (select u from usage_events u order by u.started_at
                            offset ${Math.floor(EVENTS / 3)} limit ${batches * 1000}) b) x
                group by n`;
      const median = async (fn: (n: number) => Promise<unknown>) => {
        const times: number[] = [];
        for (let n = 0; n < batches; n++) {
          const t = performance.now();
          await fn(n);
          times.push(performance.now() - t);
        }
        return percentile(
          times.sort((a, b) => a - b),
          50,
        );
      };
      return {
        hourly: await median(
          (n) => sql`select roll_up_usage_delta(rows, '{}') from b_batches where n = ${n}`,
        ),
        owners: await median((n) => sql`select roll_up_owner_days(rows, '{}') from b_batches where n = ${n}`),
      };
    });
    console.log(
      `  per 1,000-call batch: usage_hourly ${f1(perBatch.hourly)} ms, owner days ${f1(perBatch.owners)} ms`,
    );

    const table = [
      "| read | p50 | p95 | goal |",
      "|---|---:|---:|---|",
      ...rows.map(
        (r) =>
          `| ${r.name} | ${f1(r.p50)} ms | ${f1(r.p95)} ms | < 300 ms — ${r.p95 < 300 ? "met" : "not met"} |`,
      ),
    ].join("\n");
    const md = `## Dashboard read paths at a day of 1M calls (bench/dashboard.ts)

Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; embedded PostgreSQL 15. sim:day's shape
without its HTTP ingest: ${fmt(PERSONS)} persons, ${fmt(ORGS)} organizations, ${fmt(KEYS)} keys, one UTC day (${DAY}) of
${fmt(EVENTS)} calls (skewed over the keys, every call kind, 2 % failures) inserted in statements of ${fmt(CHUNK)} rows through
the roll-up triggers (${f1(ingest)} s), the day's usage_rollups by the settlement's statement, and ${ROLLUP_DAYS} more days of roll-ups
synthesized as sim:day does (${fmt(sizes!.rollups)} usage_rollups rows). Each read is p50/p95 of ${READS} after a warm-up, through the
functions the pages call; the overview reads the day as today (${dayEnd.toISOString()}).

${table}

- The roll-ups of the 30 days (tables with their indexes): ${sizeLine}.
- CSV export of the day: ${csvLine}.
- The overview's parts alone (p50 of 5; the page runs them in parallel): ${partsLine}.
- What a webhook batch of 1,000 calls pays in its statement trigger (median of 20 batches, each its own transaction, on rows of
  the day already there):
  roll_up_usage_delta (usage_hourly) ${f1(perBatch.hourly)} ms, roll_up_owner_days (the per-day owner roll-ups, docs/adr/0024) ${f1(perBatch.owners)} ms.
- The overview's 30-day tops equal a direct aggregate of usage_rollups: users ${check.users ? "yes" : "NO"}, keys ${check.keys ? "yes" : "NO"};
  active over 30 days: ${fmt(check.activeKeys)} keys, ${fmt(check.activeUsers)} users.
`;
    console.log(`\n${table}`);
    if (process.env.BENCH_DOCS !== "0") {
      writeSection("dashboard", md);
      console.log("written to docs/benchmarks.md");
    }
  } finally {
    await db.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
