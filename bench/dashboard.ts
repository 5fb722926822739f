// bench/dashboard: the admin dashboard's read paths on a large usage table.
//
// Seeds 1,000,000 usage events over the last 30 days (1,000 users, 2,000 keys, 3 models, ~2 % failures) and runs
// the daily settlement for the ended days (as production would have), then
// times what the pages ask for — the overview, usage analytics (30 days; one user over 7 days), the request log's
// first page and a page 500,000 rows deep by cursor, one key's log — each the median of several runs, against a
// plain full scan of the table (count + sum) in the same run. Then streams the whole 30 days as CSV and reports
// rows/s and the process's memory before and after (constant memory is the point).
//   npm run bench:dashboard          (BENCH_EVENTS to change the size, BENCH_PG_PORT for the database's port)
import { overview } from "@/lib/analytics/overview";
import { exportRequests, listRequests } from "@/lib/analytics/requests";
import { resolveRange, usageBreakdown, usageSeries, usageTotals } from "@/lib/analytics/usage";
import type { Actor } from "@/lib/auth/types";
import type { Sql } from "@/lib/db/client";
import { drain } from "@/lib/settlement/drain";
import { startSettlement } from "@/lib/settlement/run";
import { f1, f2, freshBenchDatabase, machine, writeSection } from "./lib";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const USERS = 1_000;
const RUNS = 5;
const ADMIN: Actor = { userId: null, kind: "system" };

async function seed(sql: Sql) {
  await sql`
    with m as (
      insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
      values ('bench-small', 'bench-small', 'fake', 16384, 4096), ('bench-large', 'bench-large', 'fake', 16384, 4096),
             ('bench-embed', 'bench-embed', 'fake', 8192, 1)
      returning id
    )
    insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros, output_price_micros)
    select id, now() - interval '60 days', 300000, 900000, 500000, 1500000 from m`;
  await sql`insert into users (email) select 'bench-' || g || '@example.com' from generate_series(1, ${USERS}) g`;
  await sql`
    insert into api_keys (user_id, name, prefix, key_hash)
    select u.id, 'key ' || k, 'tg_b' || k, sha256((u.id::text || k)::bytea)
    from users u cross join generate_series(1, 2) k`;
  await sql`
    with k as (
      select k.id as key_id, k.user_id, a.id as account_id, row_number() over (order by k.id) - 1 as n
      from api_keys k join accounts a on a.owner_user_id = k.user_id
    ),
    nk as (select count(*) as n from k)
    insert into usage_events (key_id, call_id, user_id, account_id, model_group, kind, status, prompt_tokens,
                              completion_tokens, started_at, ended_at, billing_status, cost_micros, revenue_micros,
                              error_class)
    select k.key_id, 'c' || g, k.user_id, k.account_id,
           (array['bench-small', 'bench-large', 'bench-embed'])[1 + g % 3],
           case when g % 3 = 2 then 'embedding' else 'chat' end,
           case when g % 50 = 0 then 'failure' else 'success' end,
           200, case when g % 3 = 2 then 0 else 100 end,
           now() - make_interval(secs => (g::double precision * 30 * 86400 / ${EVENTS})),
           now() - make_interval(secs => (g::double precision * 30 * 86400 / ${EVENTS})) + interval '300 milliseconds',
           case when g % 50 = 0 then 'waived' else 'exact' end,
           case when g % 50 = 0 then 0 else 150 end, case when g % 50 = 0 then 0 else 250 end,
           case when g % 50 = 0 then 'RateLimitError' end
    from generate_series(0, ${EVENTS - 1}) g, nk join k on true
    where k.n = g % nk.n`;
  await sql`analyze`;
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)]!;
}

async function main() {
  console.log(`Tollgate dashboard read paths — ${machine()}`);
  const db = await freshBenchDatabase("tollgate_bench_dashboard", 4);
  const { sql } = db;
  try {
    process.stdout.write(`▸ seeding ${EVENTS.toLocaleString("en-US")} usage events over 30 days… `);
    const seeded = performance.now();
    await seed(sql);
    console.log(`${f1((performance.now() - seeded) / 1000)} s`);
    // As in production, the daily settlement has run for every ended day (its per-day roll-ups serve the by-user
    // and by-key views); today is read from the events.
    process.stdout.write("▸ the daily settlement of the 30 ended days… ");
    const settling = performance.now();
    for (let d = 1; d <= 30; d++) {
      const day = new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10);
      await startSettlement(sql, ADMIN, { day, trigger: "cron", chunkAccounts: 500 });
    }
    await drain(sql, {
      budgetMs: 900_000,
      replay: async () => [],
      policy: "release",
      graceMinutes: 0,
      batch: 8,
    });
    await sql`analyze`;
    console.log(`${f1((performance.now() - settling) / 1000)} s`);
    const month = resolveRange({ from: new Date(Date.now() - 30 * 86_400_000).toISOString() });
    const [someUser] = await sql<{ id: string }[]>`select id from users order by email limit 1 offset 7`;
    const [someKey] = await sql<{ id: string }[]>`select id from api_keys order by id limit 1 offset 11`;
    const week = { from: new Date(Date.now() - 7 * 86_400_000).toISOString(), userId: someUser!.id };
    // A cursor 500,000 rows deep, as paging there would have left it.
    const [deep] = await sql<{ micros: string; id: string }[]>`
      select (extract(epoch from started_at) * 1000000)::bigint::text as micros, id::text as id
      from usage_events order by started_at desc, id desc offset ${Math.floor(EVENTS / 2)} limit 1`;
    const deepCursor = Buffer.from(`${deep!.micros}:${deep!.id}`).toString("base64url");
    const wide = { from: month.from.toISOString() };

    const rows: [string, number][] = [];
    const time = async (name: string, fn: () => Promise<unknown>) => {
      process.stdout.write(`▸ ${name}… `);
      const ms = await median(fn);
      console.log(`${f1(ms)} ms`);
      rows.push([name, ms]);
      return ms;
    };
    const scan = await time(
      "raw PostgreSQL: count + sum over the whole table (full scan)",
      () => sql`select count(*), sum(revenue_micros) from usage_events`,
    );
    await time("overview (today, 30 days, 24 h and 30-day series, tops, low accounts)", () =>
      overview(sql, ADMIN),
    );
    await time("analytics, 30 days, no filter (totals + daily series + by model)", () =>
      Promise.all([
        usageTotals(sql, ADMIN, wide, month),
        usageSeries(sql, ADMIN, wide, "day", month),
        usageBreakdown(sql, ADMIN, wide, "model", month),
      ]),
    );
    await time("analytics, one user over 7 days (totals + hourly series + by key)", () => {
      const r = resolveRange(week);
      return Promise.all([
        usageTotals(sql, ADMIN, week, r),
        usageSeries(sql, ADMIN, week, "hour", r),
        usageBreakdown(sql, ADMIN, week, "key", r),
      ]);
    });
    await time("request log, first page (50)", () => listRequests(sql, ADMIN, { ...wide, limit: 50 }));
    await time("request log, a page 500,000 rows deep (cursor)", () =>
      listRequests(sql, ADMIN, { ...wide, limit: 50, cursor: deepCursor }),
    );
    await time("request log, one key's first page", () =>
      listRequests(sql, ADMIN, { ...wide, keyId: someKey!.id, limit: 50 }),
    );
    await time("request log, failures only, first page", () =>
      listRequests(sql, ADMIN, { ...wide, status: "failure", limit: 50 }),
    );

    process.stdout.write("▸ CSV export of all 30 days… ");
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
    const seconds = (performance.now() - started) / 1000;
    const exported = lines - 1;
    const mb = (n: number) => n / 1024 / 1024;
    console.log(
      `${exported.toLocaleString("en-US")} rows, ${f1(mb(bytes))} MB in ${f1(seconds)} s (${Math.round(exported / seconds).toLocaleString("en-US")} rows/s); RSS ${f1(mb(rssBefore))} → peak ${f1(mb(peak))} MB`,
    );

    const table = [
      "| read | median ms | ÷ full scan |",
      "|---|---:|---:|",
      ...rows.map(([name, ms]) => `| ${name} | ${f1(ms)} | ${f2(ms / scan)} |`),
    ].join("\n");
    const md = `## Dashboard read paths (bench/dashboard.ts)

Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine()}. ${EVENTS.toLocaleString("en-US")} usage events over the last
30 days (${USERS.toLocaleString("en-US")} users, ${(USERS * 2).toLocaleString("en-US")} keys, 3 models, 2 % failures), embedded PostgreSQL 15 with the
migrations' indexes; each read is the median of ${RUNS} runs after a warm-up, through the same functions the API routes
call.

${table}

- The request log pages by cursor: a page ${Math.floor(EVENTS / 2).toLocaleString("en-US")} rows deep costs what the first does (no OFFSET).
- Aggregates over a range read the range's events (docs/adr/0012): a 30-day view of the whole platform reads all of
  them, comparable to a full scan; a filtered view reads only its user's, key's or model's rows by index.
- CSV export of ${exported.toLocaleString("en-US")} rows (${f1(mb(bytes))} MB): ${f1(seconds)} s, ${Math.round(exported / seconds).toLocaleString("en-US")} rows/s, streamed from a server-side
  cursor; the process's RSS went from ${f1(mb(rssBefore))} MB to a peak of ${f1(mb(peak))} MB (not proportional to the rows).
`;
    writeSection("dashboard", md);
    console.log(`\n${table}\n\nwritten to docs/benchmarks.md`);
  } finally {
    await db.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
