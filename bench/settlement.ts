// bench/settlement: the daily settlement of a large day, and the queue's raw speed.
//
// Seeds one UTC day of 1,000,000 usage events across 10,000 accounts (each with its settled hold), plus
// 1,000 holds left open with no event (lost webhooks, nothing in the outbox → released). Times the full
// settlement (start + drain) with 1 worker and with 2 concurrent workers, then the queue alone: claim +
// complete in batches, against the plain SKIP LOCKED claim on a bare table (the ceiling), same run.
//   npm run bench:settlement         (BENCH_EVENTS, BENCH_ACCOUNTS to change the size)
import { createClient, type Sql } from "@/lib/db/client";
import { claim, completeMany } from "@/lib/queue";
import { drain } from "@/lib/settlement/drain";
import { previousUtcDay, startSettlement } from "@/lib/settlement/run";
import { f1, f2, freshBenchDatabase, machine, writeSection } from "./lib";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 10_000);
const OPEN_HOLDS = 1_000;
const DAY = previousUtcDay();
const SYSTEM = { userId: null, kind: "system" as const };

async function seed(sql: Sql) {
  await sql`
    with m as (
      insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
      values ('bench-model', 'bench-model', 'fake', 16384, 4096) returning id
    )
    insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros, output_price_micros)
    select id, now() - interval '30 days', 300000, 900000, 500000, 1500000 from m`;
  await sql`insert into users (email) select 'bench-' || g || '@example.com' from generate_series(1, ${ACCOUNTS}) g`;
  await sql`
    insert into api_keys (user_id, name, prefix, key_hash)
    select id, 'bench', 'tg_bench', sha256(id::text::bytea) from users`;
  // One day of calls, each with its settled hold, spread over the day and the accounts.
  await sql`
    with k as (
      select k.id as key_id, k.user_id, a.id as account_id, row_number() over (order by k.id) - 1 as n
      from api_keys k join accounts a on a.owner_user_id = k.user_id
    ),
    m as (select m.id as model_id, p.id as pv_id from models m join price_versions p on p.model_id = m.id),
    calls as (
      select g, k.key_id, k.user_id, k.account_id,
             ${DAY}::date::timestamp at time zone 'utc' + make_interval(secs => (g % 86400)) as at
      from generate_series(0, ${EVENTS - 1}) g join k on k.n = g % ${ACCOUNTS}
    ),
    h as (
      insert into holds (key_id, call_id, request_nonce, account_id, user_id, model_id, price_version_id, prompt_tokens,
                         max_output_tokens, amount_micros, status, created_at, closed_at, close_reason)
      select key_id, 'c' || g, 'n' || g, account_id, user_id, m.model_id, m.pv_id, 200, 400, 700, 'settled', at, at, 'usage_event'
      from calls, m
      returning id, key_id, call_id
    )
    insert into usage_events (key_id, call_id, account_id, model_id, model_group, status, prompt_tokens,
                              completion_tokens, started_at, ended_at, cost_micros, revenue_micros,
                              price_version_id, hold_id)
    select c.key_id, 'c' || c.g, c.account_id, m.model_id, 'bench-model', 'success', 200, 100, c.at, c.at, 150, 250, m.pv_id, h.id
    from calls c cross join m join h on h.key_id = c.key_id and h.call_id = 'c' || c.g`;
  // Lost webhooks: open holds from the day with no event anywhere.
  await sql`
    with k as (select k.id as key_id, k.user_id, a.id as account_id, row_number() over (order by k.id) - 1 as n
               from api_keys k join accounts a on a.owner_user_id = k.user_id),
    ins as (
      insert into holds (key_id, call_id, request_nonce, account_id, user_id, model_id, price_version_id, prompt_tokens,
                         max_output_tokens, amount_micros, created_at)
      select k.key_id, 'lost' || g, 'n' || g, k.account_id, k.user_id, (select id from models), (select id from price_versions),
             200, 400, 700, ${DAY}::date::timestamp at time zone 'utc' + interval '12 hours'
      from generate_series(0, ${OPEN_HOLDS - 1}) g join k on k.n = (g * 7) % ${ACCOUNTS}
      returning account_id, amount_micros
    )
    update accounts a set held_micros = a.held_micros + s.total, balance_micros = a.balance_micros + s.total
    from (select account_id, sum(amount_micros) as total from ins group by account_id) s where a.id = s.account_id`;
  // Balances that pay for it all, through the ledger (so the invariants hold).
  await sql`
    with t as (insert into ledger_transactions (kind, idempotency_key, reason) values ('topup', 'bench-funding', 'bench') returning id),
    per as (
      select a.id, a.balance_micros + coalesce((select sum(revenue_micros) from usage_events u where u.account_id = a.id), 0) as fund
      from accounts a where a.kind = 'user'
    ),
    e as (
      insert into ledger_entries (transaction_id, account_id, amount_micros)
      select t.id, per.id, per.fund from t, per where per.fund <> 0
      union all
      select t.id, (select id from accounts where code = 'funding'), -(select sum(fund) from per) from t
      returning 1
    ),
    c as (
      insert into ledger_transactions (kind, idempotency_key, reason) values ('charge', 'bench-charges', 'bench day') returning id
    ),
    ce as (
      insert into ledger_entries (transaction_id, account_id, amount_micros)
      select c.id, account_id, -sum(revenue_micros) from c, usage_events group by c.id, account_id
      union all
      select c.id, (select id from accounts where code = 'revenue'), (select sum(revenue_micros) from usage_events) from c
      returning 1
    )
    update accounts a set balance_micros = per.fund - coalesce((select sum(revenue_micros) from usage_events u where u.account_id = a.id), 0)
    from per where a.id = per.id`;
  await sql`analyze`;
}

async function settle(sql: Sql, url: string, workers: number) {
  const started = performance.now();
  const { chunks } = await startSettlement(sql, SYSTEM, { day: DAY, trigger: "cron", chunkAccounts: 500 });
  const pools = Array.from({ length: workers }, () => createClient({ url, max: 2 }));
  try {
    while (true) {
      const results = await Promise.all(
        pools.map((p) =>
          drain(p, {
            budgetMs: 600_000,
            policy: "release",
            graceMinutes: 60,
            replay: async () => [],
            batch: 1,
          }),
        ),
      );
      if (results.every((r) => r.claimed === 0)) break;
    }
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
  return { seconds: (performance.now() - started) / 1000, chunks };
}

async function queueRate(sql: Sql, batch: number, jobs = 50_000) {
  await sql`delete from queue_jobs where name = 'bench.noop'`;
  await sql`drop table if exists bench_jobs`;
  await sql`insert into queue_jobs (name, payload) select 'bench.noop', jsonb_build_object('n', g) from generate_series(1, ${jobs}) g`;
  const t0 = performance.now();
  let done = 0;
  while (true) {
    const claimed = await claim(sql, { names: ["bench.noop"], batch, worker: "bench" });
    if (!claimed.length) break;
    done += await completeMany(
      sql,
      claimed.map((j) => j.id),
      "bench",
    );
  }
  const ours = done / ((performance.now() - t0) / 1000);

  await sql`create table bench_jobs (id bigint generated always as identity primary key, state text not null default 'created', payload jsonb)`;
  await sql`create index bench_jobs_created on bench_jobs (id) where state = 'created'`;
  await sql`insert into bench_jobs (payload) select jsonb_build_object('n', g) from generate_series(1, ${jobs}) g`;
  const t1 = performance.now();
  let raw = 0;
  while (true) {
    const rows = await sql`
      with next as (select id from bench_jobs where state = 'created' order by id limit ${batch} for update skip locked)
      update bench_jobs b set state = 'done' from next where b.id = next.id returning b.id`;
    if (!rows.length) break;
    raw += rows.length;
  }
  const ceiling = raw / ((performance.now() - t1) / 1000);
  return { ours, ceiling, jobs };
}

async function main() {
  console.log(`Tollgate settlement — ${machine()}`);
  const bench = await freshBenchDatabase("tollgate_settle", 4);
  const { sql, url } = bench;
  try {
    process.stdout.write(
      `▸ seeding ${EVENTS.toLocaleString("en-US")} usage events of ${DAY} across ${ACCOUNTS.toLocaleString("en-US")} accounts… `,
    );
    const s0 = performance.now();
    await seed(sql);
    console.log(`${f1((performance.now() - s0) / 1000)} s`);
    process.stdout.write("▸ settlement, 1 worker… ");
    const one = await settle(sql, url, 1);
    console.log(`${f1(one.seconds)} s (${one.chunks} chunk jobs)`);
    const [run1] =
      await sql`select holds_released, events_examined, variance_count, invariant_violations from settlement_runs order by started_at desc limit 1`;
    process.stdout.write("▸ settlement again (nothing to repair), 1 worker… ");
    const again = await settle(sql, url, 1);
    console.log(`${f1(again.seconds)} s`);
    process.stdout.write("▸ settlement again (nothing to repair), 2 workers… ");
    const two = await settle(sql, url, 2);
    console.log(`${f1(two.seconds)} s`);
    const queue: { batch: number; ours: number; ceiling: number; jobs: number }[] = [];
    for (const batch of [100, 1000]) {
      process.stdout.write(`▸ queue claim + complete, batches of ${batch}… `);
      const q = await queueRate(sql, batch);
      queue.push({ batch, ...q });
      console.log(
        `${Math.round(q.ours)} jobs/s (plain SKIP LOCKED ${Math.round(q.ceiling)}/s, ratio ${f2(q.ours / q.ceiling)})`,
      );
    }
    const best = Math.max(...queue.map((q) => q.ours));

    const md = `## Daily settlement and the queue (bench/settlement.ts)

Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; embedded PostgreSQL 15, default durability.
One UTC day of **${EVENTS.toLocaleString("en-US")} usage events across ${ACCOUNTS.toLocaleString("en-US")} accounts**
(each with its settled hold) plus ${OPEN_HOLDS.toLocaleString("en-US")} holds whose webhook was lost (nothing in the outbox,
so released as waived). Chunks of 500 accounts.

| run | wall time | notes |
|---|---:|---|
| settlement, 1 worker | **${f1(one.seconds)} s** | ${one.chunks} chunk jobs + finalize; ${run1!.events_examined} events rolled up, ${run1!.holds_released} holds released, ${run1!.variance_count} variances, ${run1!.invariant_violations} invariant violations |
| settlement again, 1 worker | **${f1(again.seconds)} s** | nothing left to repair; roll-ups of all ${EVENTS.toLocaleString("en-US")} events recomputed whole (idempotent) |
| settlement again, 2 workers | **${f1(two.seconds)} s** | the same work from 2 concurrent drains (ratio to 1 worker ${f2(again.seconds / two.seconds)}×) |

The first run's time is mostly its ${OPEN_HOLDS.toLocaleString("en-US")} repairs: each stale hold is settled in its own
transaction (a durable commit each) so a crash mid-chunk loses nothing and a re-run finds nothing to redo.

Queue alone: 50,000 no-op jobs, claimed (\`claim\`: reap expired leases, then the SKIP LOCKED claim) and
completed (\`completeMany\`) in batches, each its own durable commit; the ceiling is the plain
\`WITH next AS (… FOR UPDATE SKIP LOCKED) UPDATE …\` claim-and-finish in one statement on a bare table with one index.

| batch | queue jobs/s | plain SKIP LOCKED jobs/s | ratio |
|---:|---:|---:|---:|
${queue.map((q) => `| ${q.batch} | ${Math.round(q.ours).toLocaleString("en-US")} | ${Math.round(q.ceiling).toLocaleString("en-US")} | ${f2(q.ours / q.ceiling)} |`).join("\n")}

The gap to the ceiling is three statements per batch instead of one, and the queue table's indexes (runnable,
lease, singleton, completed, name) that each state change rewrites; they are what keeps claims, reaping,
dedup and archival index-only as jobs pile up.

Targets: 1M events settled in < 60 s — **${one.seconds < 60 ? "met" : "not met"}**; queue ≥ 20,000 jobs/s batched — **${best >= 20_000 ? "met" : "not met"}** (best ${Math.round(best).toLocaleString("en-US")}/s).
`;
    writeSection("settlement", md);
    console.log("written to docs/benchmarks.md");
  } finally {
    await bench.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
