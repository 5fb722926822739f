import { checkLedgerInvariants } from "@/lib/billing/ledger";
import type { Sql } from "@/lib/db/client";
import { runRetention } from "@/lib/retention/run";
import { f1, freshBenchDatabase, machine, writeSection } from "./lib";

const ROWS_PER_DAY = Number(process.env.RETENTION_ROWS_PER_DAY ?? 20_000);
const MONTH = "2026-01-01";
const DAYS = Number(process.env.RETENTION_DAYS ?? 30);
const ACCOUNTS = 200;

const dayAt = (i: number) => new Date(Date.parse(`${MONTH}T00:00:00Z`) + i * 86_400_000).toISOString();

async function sizes(sql: Sql) {
  const [row] = await sql<
    {
      usage: string;
      partitions: number;
      database: string;
      hourly: string;
      rollups: string;
      calls: string | null;
      dead: string;
    }[]
  >`
    select (select coalesce(sum(bytes), 0) from usage_partitions())::text as usage,
           (select count(*)::int from usage_partitions()) as partitions,
           pg_database_size(current_database())::text as database,
           pg_total_relation_size('usage_hourly')::text as hourly,
           pg_total_relation_size('usage_rollups')::text as rollups,
           (select pg_total_relation_size(to_regclass('public.usage_calls'))::text) as calls,
           (select coalesce(sum(n_dead_tup), 0) from pg_stat_user_tables
            where relname like 'usage_events%' or relname in ('usage_hourly', 'usage_rollups'))::text as dead`;
  return {
    usage: Number(row!.usage),
    partitions: row!.partitions,
    database: Number(row!.database),
    hourly: Number(row!.hourly),
    rollups: Number(row!.rollups),
    calls: row!.calls === null ? null : Number(row!.calls),
    dead: Number(row!.dead),
  };
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

async function main() {
  const { sql, stop } = await freshBenchDatabase("tollgate_bench_retention", 2, {
    dir: ".data/pg-bench-retention",
    port: 25711,
  });
  try {
    const hasCalls = (await sql`select to_regclass('public.usage_calls') is not null as ok`)[0]!
      .ok as boolean;
    const fillStart = performance.now();
    for (let i = 0; i < DAYS; i++) {
      const from = dayAt(i);
      const to = dayAt(i + 1);
      const name = `usage_events_p${from.slice(0, 10).replaceAll("-", "")}`;
      // DDL takes no parameters: the name and bounds are made here from the constant month.
      await sql.unsafe(
        `create table ${name} partition of usage_events for values from ('${from}') to ('${to}')`,
      );
      await sql`
        insert into usage_events (key_id, call_id, account_id, model_group, provider_model, status,
                                  prompt_tokens, completion_tokens, started_at, ended_at, error_class,
                                  cost_micros, revenue_micros)
        select md5('key' || (g % ${ACCOUNTS * 3}))::uuid, md5(${from} || g)::uuid::text,
               md5('acct' || (g % ${ACCOUNTS}))::uuid,
               (array['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4', 'gemini-2.5-flash'])[1 + g % 4],
               'openai/x', case when g % 50 = 0 then 'failure' else 'success' end,
               100 + g % 900, 10 + g % 400,
               ${from}::timestamptz + make_interval(secs => (g * 86399.0 / ${ROWS_PER_DAY})),
               ${from}::timestamptz + make_interval(secs => (g * 86399.0 / ${ROWS_PER_DAY}) + 1),
               case when g % 50 = 0 then 'UpstreamError' end,
               case when g % 50 = 0 then 0 else 60 + g % 700 end,
               case when g % 50 = 0 then 0 else 100 + g % 1000 end
        from generate_series(0, ${ROWS_PER_DAY - 1}) g`;
      if (hasCalls) {
        await sql`
          insert into usage_calls (call_key, key_id, started_at)
          select call_key(call_id), key_id, started_at from usage_events where started_at >= ${from} and started_at < ${to}`;
      }
      const [run] = await sql<{ id: string }[]>`
        insert into settlement_runs (day, trigger, status, finished_at) values (${from.slice(0, 10)}, 'cron', 'completed', now())
        returning id`;
      await sql`
        insert into usage_rollups (day, account_id, key_id, model_group, billing_status, requests, tokens_in, tokens_out,
                                   cost_micros, revenue_micros)
        select ${from.slice(0, 10)}::date, account_id, key_id, model_group, billing_status(status), count(*),
               sum(prompt_tokens),
               sum(completion_tokens), sum(cost_micros), sum(revenue_micros)
        from usage_events where started_at >= ${from} and started_at < ${to}
        group by account_id, key_id, model_group, billing_status(status)`;
      void run;
    }
    await sql`vacuum analyze`;
    const fillMs = performance.now() - fillStart;
    const rows = ROWS_PER_DAY * DAYS;
    console.log(`▸ ${rows.toLocaleString("en-US")} rows in ${DAYS} partitions, ${f1(fillMs / 1000)} s`);
    const before = await sizes(sql);
    const ledgerBefore =
      await sql`select count(*)::int as n, coalesce(sum(amount_micros), 0)::text as s from ledger_entries`;
    const rollupsBefore =
      await sql`select count(*)::int as n, sum(revenue_micros)::text as r from usage_rollups`;

    const asOf = new Date(Date.parse(dayAt(DAYS + 100)));
    const t0 = performance.now();
    const summary = await runRetention(sql, { asOf, trigger: "manual" });
    const runMs = performance.now() - t0;
    await sql`analyze`;
    const after = await sizes(sql);
    const ledgerAfter =
      await sql`select count(*)::int as n, coalesce(sum(amount_micros), 0)::text as s from ledger_entries`;
    const rollupsAfter =
      await sql`select count(*)::int as n, sum(revenue_micros)::text as r from usage_rollups`;
    const invariants = await checkLedgerInvariants(sql);
    const [remaining] = await sql<{ n: number }[]>`
      select count(*)::int as n from usage_events where started_at < ${dayAt(DAYS)}`;
    const unchanged =
      JSON.stringify(ledgerBefore) === JSON.stringify(ledgerAfter) &&
      JSON.stringify(rollupsBefore) === JSON.stringify(rollupsAfter) &&
      invariants.length === 0;
    console.log(
      `▸ dropped ${summary.partitionsDropped}, refused ${summary.daysRefused}; check ${f1(summary.verifyMs)} ms, detach+drop ${f1(summary.dropMs)} ms, run ${f1(runMs)} ms`,
    );
    console.log(
      `▸ usage_events ${mb(before.usage)} → ${mb(after.usage)}, database ${mb(before.database)} → ${mb(after.database)}`,
    );

    const lines = [
      "## Retention: dropping a month of usage detail (`npm run bench:retention`)",
      "",
      `${machine()}; embedded PostgreSQL 15. ${DAYS} daily partitions of ${ROWS_PER_DAY.toLocaleString("en-US")} rows ` +
        `(${rows.toLocaleString("en-US")} in all, ${ACCOUNTS} accounts, four models, 2 % failures), each day settled ` +
        "(daily roll-ups, a completed run), then one retention run standing 100 days later (lib/retention/run.ts). " +
        "usage_events has a default partition, so DETACH … CONCURRENTLY is refused: each partition goes in its own " +
        "transaction, locked against writes (SHARE; a writer that comes meanwhile is given way to), its days checked " +
        "against both roll-ups and its rows' sums kept in one scan (retention_partition_check), then its records and " +
        "DROP TABLE (the parent's ACCESS EXCLUSIVE lock tried 150 ms at a time; a plain DETACH first would lock leases " +
        "and ledger_transactions against the ledger's writers).",
      "",
      "| measure | value |",
      "|---|---|",
      `| partitions dropped / refused | ${summary.partitionsDropped} / ${summary.daysRefused} |`,
      `| **drop of the ${summary.partitionsDropped} partitions (records, DROP TABLE, commit)** | **${f1(summary.dropMs)} ms** (goal < 1 s; ${f1(summary.dropMs / Math.max(1, summary.partitionsDropped))} ms a partition) |`,
      `| checking the days against both roll-ups and keeping their sums (one scan of each partition) | ${f1(summary.verifyMs)} ms |`,
      `| whole run (with the claims of the dropped calls${hasCalls ? ", usage_calls" : ""}: ${summary.callsPruned.toLocaleString("en-US")} removed) | ${f1(runMs)} ms |`,
      `| usage_events, every partition and index | ${mb(before.usage)} → ${mb(after.usage)} (${before.partitions} → ${after.partitions} partitions) |`,
      `| database | ${mb(before.database)} → ${mb(after.database)} |`,
      `| usage_hourly / usage_rollups | ${mb(before.hourly)} → ${mb(after.hourly)} / ${mb(before.rollups)} → ${mb(after.rollups)} |`,
      ...(before.calls !== null
        ? [
            `| usage_calls (claims; rows deleted, space reused after vacuum) | ${mb(before.calls)} → ${mb(after.calls ?? 0)} |`,
          ]
        : []),
      `| dead tuples in usage_events, usage_hourly, usage_rollups after | ${before.dead} → ${after.dead} |`,
      `| rows of the month left | ${remaining!.n} |`,
      `| ledger, daily roll-ups unchanged; ledger = balances | ${unchanged ? "yes" : "**no**"} |`,
      "",
      "The drop figure is, for each partition, its records, the DROP TABLE (catalog entries and files; no dead " +
        "tuple) and the commit: the part done while usage_events is held ACCESS EXCLUSIVE, and nothing reads a row. " +
        "The check figure is one scan of each partition under its SHARE lock (readers go on; a writer of that day " +
        "makes the run give way): it compares the days with both roll-ups and, when they agree, adds the rows' sums " +
        "to retention_trimmed_usage in the same statement.",
    ];
    writeSection("retention", lines.join("\n"));
    console.log("▸ wrote docs/benchmarks.md (bench:retention)");
  } finally {
    await stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
