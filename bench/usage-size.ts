// bench/usage-size: what one usage event costs on disk, all in (heap + TOAST + every index), on a table of
// realistic rows written by the real settle path (settleUsage → settle_usage, the webhook's transaction).
//
// A fresh embedded PostgreSQL 15 (its own data folder and port: BENCH_PG_PORT, default 26011); USAGE_EVENTS rows
// (default 200,000) spread over person and organization keys, mostly served from balance leases as the gateway
// sends them, a few under per-call holds; a mix of call kinds, streamed or not, 2 % failures and 2 % cut streams,
// token counts and units maps as the gateway reports them. Then VACUUM ANALYZE and the sizes: heap, TOAST, each index.
// It also EXPLAINs the request log's first and deep cursor pages and the per-key usage at that size.
//   npm run bench:usage-size
// lib/config's defaults (quiet logs, placeholder secrets): the compaction job logs its summary.
import "../tests/setup/env";
import { randomUUID } from "node:crypto";
import { uuidPrefixRange, v7PrefixDay } from "@/lib/analytics/call-key";
import { CALL_ID_PREFIX_MIN } from "@/lib/analytics/schemas";
import { placeHold } from "@/lib/billing/hold";
import { grantLease } from "@/lib/billing/leases";
import { checkLedgerInvariants, creditAccount } from "@/lib/billing/ledger";
import { settleUsage, type UsageEvent } from "@/lib/billing/settle";
import type { Sql } from "@/lib/db/client";
import { compactUsagePartitions } from "@/lib/usage/compact";
import { callIdAt } from "../tests/helpers/call-ids";
import { f1, freshBenchDatabase, machine, writeSection } from "./lib";

const N = Number(process.env.USAGE_EVENTS ?? 200_000);
const BATCH = 1000;
const PERSONS = 300;
const ORGS = 20;
const KEYS_PER_ORG = 5;
const DAYS = 7;

const MODELS = [
  { group: "gpt-4o-mini", provider: "openai/gpt-4o-mini-2024-07-18", share: 40 },
  { group: "gpt-4o", provider: "openai/gpt-4o-2024-11-20", share: 15 },
  { group: "claude-sonnet-4", provider: "anthropic/claude-sonnet-4-20250514", share: 20 },
  { group: "gemini-2.5-flash", provider: "vertex_ai/gemini-2.5-flash", share: 15 },
  { group: "text-embedding-3-small", provider: "openai/text-embedding-3-small", share: 10 },
] as const;

/** The bench's database, with the daily partitions its calls start in (as the usage.partitions job keeps them). */
async function freshDatabase(name: string) {
  const bench = await freshBenchDatabase(name, 4, { dir: ".data/pg-bench-usage-size", port: 26011 });
  await bench.sql`select * from ensure_usage_partitions(current_date - ${DAYS + 1}::int, current_date + 1)`;
  return bench;
}

interface Key {
  id: string;
  leaseId: string;
}

async function setup(sql: Sql): Promise<Key[]> {
  for (const m of MODELS) {
    const embedding = m.group.startsWith("text-embedding");
    await sql`
      with m as (
        insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
        values (${m.group}, ${m.group}, ${m.provider.split("/")[0]!}, 128000, ${embedding ? 1 : 16384}) returning id
      )
      insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros,
                                  output_price_micros, cached_input_price_micros)
      select id, now() - interval '30 days', 150000, 600000, 250000, 1000000, 75000 from m`;
  }
  const owners: { userId: string; accountId: string }[] = [];
  for (let i = 0; i < PERSONS; i++) {
    const [user] = await sql<{ id: string }[]>`
      insert into users (email) values (${`bench-${i}@example.com`}) returning id`;
    const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${user!.id}`;
    owners.push({ userId: user!.id, accountId: account!.id });
  }
  const keyRows: { userId: string; accountId: string }[] = owners.map((o) => o);
  // Organizations: a team account each, its keys made by the first persons (as members).
  for (let o = 0; o < ORGS; o++) {
    const [org] = await sql<{ id: string }[]>`
      insert into organizations (name, slug) values (${`Bench org ${o}`}, ${`bench-org-${o}`}) returning id`;
    const [account] = await sql<{ id: string }[]>`
      insert into accounts (kind, organization_id) values ('team', ${org!.id}) returning id`;
    for (let k = 0; k < KEYS_PER_ORG; k++) {
      const member = owners[(o * KEYS_PER_ORG + k) % PERSONS]!;
      await sql`
        insert into organization_members (organization_id, user_id, role)
        values (${org!.id}, ${member.userId}, ${k === 0 ? "owner" : "member"}) on conflict do nothing`;
      keyRows.push({ userId: member.userId, accountId: account!.id });
    }
  }
  const accounts = [...new Set(keyRows.map((k) => k.accountId))];
  for (const [i, accountId] of accounts.entries()) {
    await creditAccount(
      sql,
      { userId: null, kind: "system" },
      { accountId, amountMicros: 10n ** 13n, kind: "topup", reason: "bench", idempotencyKey: `bench-${i}` },
    );
  }
  const keys: Key[] = [];
  for (const [i, k] of keyRows.entries()) {
    const [key] = await sql<{ id: string }[]>`
      insert into api_keys (user_id, account_id, name, prefix, key_hash)
      values (${k.userId}, ${k.accountId}, ${`bench ${i}`}, 'tg_bench', ${Buffer.from(randomUUID())})
      returning id`;
    const leaseId = randomUUID();
    await grantLease(
      sql,
      {
        leaseId,
        keyId: key!.id,
        processId: `gateway-${i % 4}`,
        nonce: randomUUID(),
        wantMicros: 10n ** 11n,
        minMicros: 1n,
      },
      { ttlSeconds: 86_400 },
    );
    keys.push({ id: key!.id, leaseId });
  }
  return keys;
}

/** A deterministic pseudo-random stream (mulberry32): the same mix every run. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY_MS = 86_400_000;

function event(
  random: () => number,
  keys: Key[],
  i: number,
  start: number,
): UsageEvent & { viaHold: boolean } {
  // Keys spend unevenly: a quarter of the keys make most of the calls.
  const hot = random() < 0.75;
  const key = keys[Math.floor(random() * (hot ? keys.length / 4 : keys.length))]!;
  const pick = random() * 100;
  const model =
    MODELS.find((_, i) => MODELS.slice(0, i + 1).reduce((a, m) => a + m.share, 0) > pick) ?? MODELS[0];
  const embedding = model.group.startsWith("text-embedding");
  const r = random();
  const status = r < 0.02 ? "failure" : r < 0.04 ? "cut" : "success";
  const kindRoll = random();
  const kind = embedding
    ? "embedding"
    : kindRoll < 0.8
      ? "chat"
      : kindRoll < 0.9
        ? "responses"
        : kindRoll < 0.97
          ? "messages"
          : "completion";
  const stream = !embedding && random() < 0.6;
  const startedAt = start + Math.floor((i / N) * DAYS * DAY_MS);
  const duration = embedding ? 80 + Math.floor(random() * 200) : 400 + Math.floor(random() * 8000);
  const prompt = Math.floor(50 + random() ** 2 * 6000);
  const output = status === "failure" || embedding ? 0 : Math.floor(20 + random() ** 2 * 1500);
  const viaHold = random() < 0.03;
  return {
    callId: callIdAt(startedAt),
    keyId: key.id,
    modelGroup: model.group,
    providerModel: model.provider,
    status,
    stream,
    promptTokens: status === "failure" ? 0 : prompt,
    completionTokens: output,
    cachedTokens: status !== "failure" && random() < 0.3 ? Math.floor(prompt * 0.5) : 0,
    reasoningTokens: model.group === "gpt-4o" && random() < 0.2 ? Math.floor(output * 0.3) : 0,
    reportedCostMicros: status === "failure" ? 0 : Math.floor(random() * 20_000),
    startedAt: new Date(startedAt).toISOString(),
    endedAt: new Date(startedAt + duration).toISOString(),
    firstTokenAt:
      stream && status !== "failure" ? new Date(startedAt + Math.floor(duration / 5)).toISOString() : null,
    errorClass: status === "failure" ? (random() < 0.5 ? "RateLimitError" : "APIConnectionError") : null,
    kind,
    leaseId: viaHold ? null : key.leaseId,
    drawMicros: viaHold ? null : 20_000n,
    viaHold,
  } as UsageEvent & { viaHold: boolean };
}

interface Sizes {
  rows: number;
  heap: number;
  toast: number;
  indexes: { name: string; bytes: number; def: string }[];
  total: number;
  avgTuple: number;
}

/**
 * usage_events' size over all its daily partitions (pg_partition_tree), each index of the parent summed over its
 * partitions' indexes, and usage_calls (each call's claim: settle_usage's idempotency key and the call id search),
 * which is part of what an event costs.
 */
async function sizes(sql: Sql): Promise<Sizes> {
  const [t] = await sql<{ rows: bigint; heap: bigint; toast: bigint; total: bigint }[]>`
    select (select count(*) from usage_events) as rows,
           sum(pg_relation_size(p.relid)) as heap,
           sum(coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0)) as toast,
           sum(pg_total_relation_size(p.relid)) + pg_total_relation_size('usage_calls') as total
    from pg_partition_tree('usage_events') p join pg_class c on c.oid = p.relid where p.isleaf`;
  // Each tuple as its partition stores it (a partition's columns may be ordered apart from usage_events': ADR 0029).
  const leaves = await sql<{ name: string }[]>`
    select relid::regclass::text as name from pg_partition_tree('usage_events') where isleaf`;
  let tupleBytes = 0;
  let tuples = 0;
  for (const { name } of leaves) {
    const [r] = await sql<{ bytes: number; n: number }[]>`
      select coalesce(sum(pg_column_size(p.*)), 0)::float8 as bytes, count(*)::float8 as n from ${sql(name)} p`;
    tupleBytes += r!.bytes;
    tuples += r!.n;
  }
  const indexes = await sql<{ name: string; bytes: bigint; def: string }[]>`
    select i.indexrelid::regclass::text as name,
           (select sum(pg_relation_size(t.relid)) from pg_partition_tree(i.indexrelid) t where t.isleaf) as bytes,
           pg_get_indexdef(i.indexrelid) as def
    from pg_index i where i.indrelid = 'usage_events'::regclass
    union all
    -- Each partition's own call key index (a UUIDv7 call's claim, docs/adr/0032), summed.
    select 'usage_events_p*_call_key_idx', coalesce(sum(pg_relation_size(x.indexrelid)), 0),
           'unique (call_key(call_id), key_id) on each partition'
    from pg_partition_tree('usage_events') t join pg_index x on x.indrelid = t.relid
    join pg_class ic on ic.oid = x.indexrelid
    where t.isleaf and ic.relname = t.relid::regclass::text || '_call_key_idx'
    union all
    select 'usage_calls (heap)', pg_relation_size('usage_calls'), 'the claims: call_key, key_id, started_at'
    union all
    select i.indexrelid::regclass::text, pg_relation_size(i.indexrelid), pg_get_indexdef(i.indexrelid)
    from pg_index i where i.indrelid = 'usage_calls'::regclass
    order by 2 desc`;
  return {
    rows: Number(t!.rows),
    heap: Number(t!.heap),
    toast: Number(t!.toast),
    total: Number(t!.total),
    avgTuple: tuples ? tupleBytes / tuples : 0,
    indexes: indexes.map((i) => ({ name: i.name, bytes: Number(i.bytes), def: i.def })),
  };
}

/** The plans of the read paths that must stay on an index at size (the request log's pages, a key's usage). */
async function plans(sql: Sql) {
  const [s] = await sql<
    { user_id: string; key_id: string; account_id: string; micros: string; id: string; call_id: string }[]
  >`
    select (select k.user_id from api_keys k where k.id = e.key_id) as user_id, key_id,
           (select o.account_id from usage_events o where o.org limit 1) as account_id,
           (extract(epoch from started_at) * 1000000)::bigint::text as micros, id::text, call_id
    from usage_events e where e.org is null order by started_at desc, id desc offset ${Math.floor(N / 4)} limit 1`;
  const week = "e.started_at >= now() - interval '8 days' and e.started_at < now() + interval '1 day'";
  const page = "order by e.started_at desc, e.id desc limit 51";
  const prefix = s!.call_id.slice(0, CALL_ID_PREFIX_MIN);
  const range = uuidPrefixRange(prefix)!;
  const v7Day = v7PrefixDay(prefix);
  // The UTC day of the call looked up by id (the request log's link carries it).
  const day = `(date_trunc('day', (timestamptz 'epoch' + '${s!.micros} microseconds'::interval) at time zone 'utc') at time zone 'utc')`;
  const queries: [string, string][] = [
    ["request log, first page (admin)", `where ${week} ${page}`],
    [
      "request log, page 1,000 by cursor (admin)",
      `where ${week} and (e.started_at, e.id) < (timestamptz 'epoch' + '${s!.micros} microseconds'::interval, ${s!.id}) ${page}`,
    ],
    // As lib/analytics/requests.ts reads a user's log (docs/adr/0037): key by key, each key's page through its index.
    [
      "request log, a developer's own",
      `from unnest(array(select uk.id from api_keys uk where uk.user_id = '${s!.user_id}'
                           and uk.account_id = (select a.id from accounts a where a.owner_user_id = '${s!.user_id}')
                           and exists (select 1 from usage_owner_days od where od.owner_kind = 'key' and od.owner_id = uk.id
                                         and od.day >= (now() - interval '8 days')::date and od.day <= (now() + interval '1 day')::date))) uk(id)
       cross join lateral (select e.* from usage_events e where ${week} and e.key_id = uk.id ${page}) e ${page}`,
    ],
    // As lib/usage/columns.ts reads an organization's calls (orgRows): its account index holds them only.
    [
      "request log, an organization's",
      `where ${week} and e.org and e.account_id = '${s!.account_id}' ${page}`,
    ],
    ["request log, one key", `where ${week} and e.key_id = '${s!.key_id}' ${page}`],
    [
      "a call's page by its id, with its day",
      `where e.id = ${s!.id} and e.started_at >= ${day} and e.started_at < ${day} + interval '1 day'`,
    ],
    ["a call's page by its id alone (a link without its day)", `where e.id = ${s!.id}`],
    [
      "call id prefix search (a claim in usage_calls, or the row's own partition index for a UUIDv7)",
      // As lib/analytics/call-key.ts asks it (callsMatching): the range of keys that begin with the prefix, in
      // usage_calls and in the partition of the day a UUIDv7 prefix names; the id matched on the row.
      `where e.call_id like '${prefix}%' and (e.key_id, e.started_at, call_key(e.call_id)) in (
         select c.key_id, c.started_at, c.call_key from usage_calls c
         where c.call_key between '${range[0]}'::uuid and '${range[1]}'::uuid
         union all
         select v.key_id, v.started_at, call_key(v.call_id) from usage_events v
         where v.started_at >= '${v7Day![0]}' and v.started_at < '${v7Day![1]}'
           and call_key(v.call_id) between '${range[0]}'::uuid and '${range[1]}'::uuid
           and not exists (select 1 from usage_calls c where c.key_id = v.key_id and c.call_key = call_key(v.call_id))) ${page}`,
    ],
  ];
  const out: { name: string; plan: string }[] = [];
  for (const [name, where] of queries) {
    const rows = await sql.unsafe<{ "QUERY PLAN": string }[]>(
      `explain (analyze, costs off, timing off, summary on) select e.id from ${where.startsWith("from ") ? where.slice(5) : `usage_events e ${where}`}`,
    );
    const lines = rows.map((r) => r["QUERY PLAN"]);
    const scans = lines
      .filter((l) => !l.includes("never executed"))
      .map((l) =>
        /(Index Only Scan|Index Scan|Seq Scan)(?: Backward)?(?: using (\S+))? on|(Bitmap Index Scan) on (\S+)/.exec(
          l,
        ),
      )
      .filter((m) => m)
      .map((m) => (m![3] ? [m![0], m![3], m![4]] : m))
      // A partition's index by its parent's shape: usage_events_pYYYYMMDD_… → usage_events_p*_…
      .map((m) => `${m![1]}${m![2] ? ` ${m![2].replace(/_p\d{8}_/, "_p*_")}` : ""}`);
    const partitions = new Set(
      lines
        .filter((l) => !l.includes("never executed"))
        .map((l) => / on (usage_events_(?:p\d{8}|default))/.exec(l)?.[1])
        .filter(Boolean),
    ).size;
    const time = lines.find((l) => l.startsWith("Execution Time"))?.replace("Execution Time: ", "") ?? "";
    out.push({ name, plan: `${[...new Set(scans)].join(", ")}; ${partitions} partition(s) read (${time})` });
  }
  return out;
}

/**
 * What the same rows would take in a table created anew (as partitioning will): (1) the same columns ordered by
 * alignment (8-byte, then 4-byte, then uuids, booleans and texts), so no padding; (2) that, with call_id as uuid,
 * status / kind / billing status as one-byte codes, billing_status and model_id left out (they repeat the status
 * and the price version) and zero counts as null. Heap only: the bytes per row of each, after VACUUM.
 */
async function whatIf(sql: Sql) {
  await sql`
    create table lean_order as
    select id, started_at, ended_at, received_at, first_token_at, reported_cost_micros, cost_micros, revenue_micros,
           draw_micros, overrun_micros, audio_ms, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
           reasoning_tokens, images, characters, provider_model_id, key_id,
           (select k.user_id from api_keys k where k.id = usage_events.key_id) as user_id, account_id, model_id,
           price_version_id, hold_id,
           ledger_transaction_id, lease_id, stream, call_id, model_group, provider_model, status, billing_status(status) as billing_status, kind,
           error_class, image_size, image_quality
    from usage_events`;
  await sql`
    create table lean_shape as
    select id, started_at, ended_at, received_at, first_token_at, nullif(reported_cost_micros, 0) as reported_cost_micros,
           cost_micros, revenue_micros, draw_micros, nullif(overrun_micros, 0) as overrun_micros,
           nullif(audio_ms, 0) as audio_ms, prompt_tokens, completion_tokens, nullif(cached_tokens, 0) as cached_tokens,
           nullif(cache_write_tokens, 0) as cache_write_tokens, nullif(reasoning_tokens, 0) as reasoning_tokens,
           nullif(images, 0) as images, nullif(characters, 0) as characters, provider_model_id,
           call_id::uuid as call_id, key_id, (select k.user_id from api_keys k where k.id = usage_events.key_id) as user_id,
           account_id, price_version_id, hold_id, ledger_transaction_id, lease_id, stream,
           (case status when 'success' then 0 when 'cut' then 1 else 2 end)::"char" as status,
           (case kind when 'chat' then 0 when 'completion' then 1 when 'embedding' then 2 when 'image' then 3
                      when 'transcription' then 4 when 'speech' then 5 when 'responses' then 6 else 7 end)::"char" as kind,
           model_group, provider_model, error_class, image_size, image_quality
    from usage_events`;
  await sql`vacuum analyze lean_order, lean_shape`;
  const [r] = await sql<
    { order_heap: bigint; order_tuple: number; shape_heap: bigint; shape_tuple: number; n: bigint }[]
  >`
    select pg_relation_size('lean_order') as order_heap,
           (select avg(pg_column_size(t.*))::float8 from lean_order t) as order_tuple,
           pg_relation_size('lean_shape') as shape_heap,
           (select avg(pg_column_size(t.*))::float8 from lean_shape t) as shape_tuple,
           (select count(*) from lean_shape) as n`;
  const n = Number(r!.n);
  await sql`drop table lean_order, lean_shape`;
  return {
    orderHeap: Number(r!.order_heap) / n,
    orderTuple: r!.order_tuple,
    shapeHeap: Number(r!.shape_heap) / n,
    shapeTuple: r!.shape_tuple,
  };
}

const kib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

async function main() {
  console.log(`Tollgate usage row size — ${machine()}`);
  const bench = await freshDatabase("tollgate_bench_usage_size");
  const { sql } = bench;
  try {
    process.stdout.write(`▸ ${PERSONS} persons, ${ORGS} organizations, keys and their leases… `);
    const keys = await setup(sql);
    console.log(`${keys.length} keys`);
    const random = rng(27);
    const start = Date.now() - DAYS * DAY_MS;
    process.stdout.write(`▸ settling ${N.toLocaleString("en-US")} events in batches of ${BATCH}… `);
    const t0 = performance.now();
    let holds = 0;
    for (let b = 0; b * BATCH < N; b++) {
      const batch = Array.from({ length: Math.min(BATCH, N - b * BATCH) }, (_, j) =>
        event(random, keys, b * BATCH + j, start),
      );
      for (const e of batch.filter((e) => e.viaHold)) {
        await placeHold(sql, {
          keyId: e.keyId,
          callId: e.callId,
          nonce: e.callId,
          model: e.modelGroup,
          promptTokens: e.promptTokens,
          maxOutputTokens: 2000,
          kind: e.kind,
        });
        holds++;
      }
      await settleUsage(
        sql,
        batch.map(({ viaHold: _v, ...e }) => e),
      );
      if (b % 20 === 0) process.stdout.write(".");
    }
    const ingestS = (performance.now() - t0) / 1000;
    console.log(` ${f1(ingestS)} s (${holds} under holds)`);
    process.stdout.write("▸ VACUUM ANALYZE… ");
    await sql`vacuum analyze usage_events`;
    await sql`vacuum analyze usage_calls`;
    console.log("done");
    const s = await sizes(sql);
    const perRow = (n: number) => n / s.rows;
    const indexTotal = s.indexes.reduce((a, i) => a + i.bytes, 0);
    console.log(
      `  ${s.rows} rows: heap ${f1(perRow(s.heap))} B/row (tuple avg ${f1(s.avgTuple)} B), TOAST ${f1(perRow(s.toast))}, indexes ${f1(perRow(indexTotal))}, all in ${f1(perRow(s.total))} B/row`,
    );
    for (const i of s.indexes) console.log(`    ${i.name}: ${f1(perRow(i.bytes))} B/row`);
    const explained = await plans(sql);
    for (const p of explained) console.log(`    ${p.name}: ${p.plan}`);
    // The days once closed, compacted by the queue's usage.compact job (lib/usage/compact.ts, docs/adr/0027): each
    // index of a closed day's partition rebuilt packed. Standing two days after the last day, every day is closed.
    process.stdout.write("▸ compacting the closed days (usage.compact)… ");
    const compaction = await compactUsagePartitions(sql, { asOf: new Date(Date.now() + 2 * DAY_MS) });
    const packed = await sizes(sql);
    const packedIndexes = packed.indexes.reduce((a, i) => a + i.bytes, 0);
    const compactMs = compaction.compacted.reduce((a, c) => a + c.ms, 0);
    const dayIndexes = compaction.compacted.filter((c) => c.day === compaction.compacted[0]?.day).length;
    console.log(
      `${compaction.compacted.length} indexes in ${f1(compactMs / 1000)} s: indexes ${f1(perRow(packedIndexes))} B/row, all in ${f1(perRow(packed.total))} B/row`,
    );
    process.stdout.write("▸ the same rows in a table created anew… ");
    const lean = await whatIf(sql);
    console.log(
      `columns by alignment: heap ${f1(lean.orderHeap)} B/row; leaner shape: heap ${f1(lean.shapeHeap)} B/row`,
    );
    const violations = await checkLedgerInvariants(sql);
    console.log(
      `▸ ledger invariants: ${violations.length === 0 ? "hold" : `${violations.length} VIOLATIONS`}`,
    );
    const md = `## Usage row size (bench/usage-size.ts)

Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; embedded PostgreSQL 15.
${s.rows.toLocaleString("en-US")} usage events settled through the real path (\`settleUsage\` → \`settle_usage\`, batches of ${BATCH}) over
${DAYS} days: ${keys.length} keys (${PERSONS} persons' and ${ORGS} organizations'), ${100 - 3} % of calls served from balance leases and
3 % under per-call holds, ${MODELS.length} models, chat / responses / messages / completion / embedding calls, 60 % of chat calls
streamed, 2 % failures and 2 % cut streams, token counts as the gateway reports them. Then \`VACUUM ANALYZE\`.
\`usage_events\` is partitioned by UTC day (docs/adr/0020): each index row below is the parent's index summed over
its daily partitions, and each partition's own call key index (a UUIDv7 call's claim, its row: docs/adr/0032) summed
too; \`usage_calls\` (the claims of calls whose ids are not UUIDv7s; none here, as the gateway makes every id) is
counted too.

| part | size | bytes per event |
|---|---:|---:|
| heap (average tuple ${f1(s.avgTuple)} B) | ${kib(s.heap)} | ${f1(perRow(s.heap))} |
| TOAST | ${kib(s.toast)} | ${f1(perRow(s.toast))} |
${s.indexes.map((i) => `| ${i.name.endsWith("(heap)") ? "" : "index "}\`${i.name}\` | ${kib(i.bytes)} | ${f1(perRow(i.bytes))} |`).join("\n")}
| **all in** (\`pg_total_relation_size\` of every daily partition, and \`usage_calls\`) | **${kib(s.total)}** | **${f1(perRow(s.total))}** |

**The days once closed and compacted** (the queue's \`usage.compact\` job, lib/usage/compact.ts, docs/adr/0027: two UTC
days after a day ends, each index of its partition is rebuilt packed by \`REINDEX INDEX CONCURRENTLY\` at fillfactor 100,
reads and writes going on; the secondary indexes no longer carry the half-empty pages that rows arriving interleaved
for thousands of keys split): ${compaction.compacted.length} indexes in ${f1(compactMs / 1000)} s
(${f1(compactMs / (s.rows / 1e6) / 1000)} s per million rows for a day's ${dayIndexes} indexes), indexes
${f1(perRow(packedIndexes))} B/event, **${f1(perRow(packed.total))} B/event all in**
(${packed.indexes.map((i) => `${i.name.replace(/^usage_events_/, "")} ${f1(perRow(i.bytes))}`).join(", ")}).

The same rows in a table created anew (heap only; the columns the table had when this comparison was first made, without
cache_hit, cache_saved_micros, pii_masked, safety_score and credential): columns ordered by alignment, no padding —
${f1(lean.orderHeap)} B/event (average tuple ${f1(lean.orderTuple)} B; zero counts are null in both since docs/adr/0033); and a
leaner shape besides (call_id as uuid, status and kind as one-byte codes, billing_status and model_id left out as they
repeat the status and the price version) — ${f1(lean.shapeHeap)} B/event (average tuple ${f1(lean.shapeTuple)} B).

Before the lean cut (supabase/migrations/20261205110000_usage_events_lean.sql and settle_usage storing model_id only
without a price version), the same bench on commit a5d0302 the same day: heap 389.9 B/event, 11 indexes 528.1 B/event
(the (key_id, call_id) constraint 102.9, the call id index 78.6, user 68.6, account 68.4, key 67.5, model 63.0,
(started_at, id) 42.4, primary key 22.6, lease 12.3, failures 1.7, overrun 0.0) — **918.2 B/event all in**, 753.3 compacted.
After the lean cut and before partitioning (one table, the (call_id, key_id) unique index in it; ADR 0020): heap
372 B/event, 8 indexes 370 B/event — **742 B/event all in**, 627 compacted. Partitioning moved the idempotency key
to \`usage_calls\` (its heap is the difference: a call's claim, kept apart so a replay or an upgrade with another
started_at is never charged twice; ADR 0020). Since docs/adr/0028 the calls carry ids as the gateway makes them (UUIDv7, the call's
millisecond first) and settle_usage claims a batch's calls in call id order, so the claims fill the index's right edge:
\`usage_calls_call_key\` 77.4 B/event on 2026-12-06 (13:11Z), against 100.4 with random (v4) ids (12:33Z, commit
ec03903) and 101.1 with v7 ids claimed in each batch's key order (the run between).
Then, the same afternoon on this host: a new day's partition orders its columns to pack a row (docs/adr/0029: stored
tuple 368.2 → 352.1 B, heap 388.1 → 370.3 B), usage_events keeps no primary key (docs/adr/0030: the (id, started_at)
btree, 32.6 B as inserted, for a BRIN index on id), and a call's claim is keyed by its id as a uuid (docs/adr/0031: the
claim's row 93.1 → 68.3 B, its index 77.4 → 49.7 B). All in, as inserted: 815.5 → 796.6 → 767.7 → 715.5 B per event;
once compacted: 735.0 → 717.2 → 691.8 → 639.1 B.
Then (2026-12-06 18:49Z, on another host of the same size: bytes do not depend on it) a UUIDv7 call's claim is its row (docs/adr/0032): no row in \`usage_calls\`, and each
partition's own unique index on (call_key(call_id), key_id) in place of the claims' index (45.8 B once compacted, where the
claim took 68.3 + 49.7 B): **715.3 → 663.5 B per event as inserted, 639.2 → 569.4 B once compacted**. As inserted, the
(started_at, id) index took 57.3 B against 43.3: a batch's rows now arrive in call id order, newest last, each at its
leftmost page (the index is descending); compaction packs it the same (29.5 B).
Then (2026-12-06 21:35Z) a zero count and the platform's credential are stored as null (docs/adr/0033): stored tuple
352.1 → 308.2 B, heap 372.7 → 325.6 B: **663.5 → 617.7 B per event as inserted, 569.4 → 522.3 B once compacted**. A
partition call key index on the call key alone (one uuid where two were) measured 32.6 B as inserted and 506.0 B all in
once compacted the same evening; an outside review reproduced four defects in it (the index arbitrated ids claimed in
\`usage_calls\` too, a hold another key took for a recorded id stayed open, the partition job jammed on the default
partition's old index, a repaired partition could be left without an arbiter) and it was reverted.
Then (2026-12-07 01:59Z) a row names its deployment by a 4-byte id into \`provider_models\` instead of its text
(docs/adr/0035; the names here are 24 to 34 characters): stored tuple 308.2 → 282.7 B, heap 325.6 → 294.0 B:
**617.7 → 587.0 B per event as inserted, 522.3 → 490.7 B once compacted**.
Then (2026-12-07 06:37Z) usage_events keeps no user index: a user's calls are read through their keys, whose user never
changes (docs/adr/0037): **587.0 → 525.6 B per event as inserted, 490.7 → 453.2 B once compacted**. Then (07:05Z) its
time index holds started_at alone, not (started_at, id) (docs/adr/0039; 57.2 → 41.2 B as inserted):
**525.6 → 510.2 B per event as inserted, 453.2 → 445.1 B once compacted**.
Then (09:49Z) the account index holds organizations' calls only, marked by the row (\`org\`), and a row stores no user,
its key's (docs/adr/0040): **510.2 → 445.5 B per event as inserted, 445.1 → 399.2 B once compacted** (heap 294.0 →
282.1 B; the account index 37.5 → 3.4 B compacted). In this mix 6 % of the calls are organizations' (a quarter of the
keys, all persons', make three quarters of the calls): an organization's call still takes the index's 37.5 B, so a mix of
organizations' calls only would take about 435 B once compacted.
Then (12:54Z) the btree indexes are ascending in time (docs/adr/0042): a call arriving newest last lands on the rightmost
page of the time index, which PostgreSQL splits leaving the old page full, where in a descending index it landed on the
leftmost and every split left two half-full pages: the time index 41.2 → 23.4 B as inserted, **445.5 → 427.0 B per
event as inserted**, 399.2 B once compacted as before. The key index stays 57.7 B as inserted: a key's newest call lands
inside the index, not at its right edge, and those pages split in the middle in either order.
Then (15:37Z) a row stores its outcome and no billing status, always its outcome's (docs/adr/0043: read through
\`billing_status(status)\`): stored tuple 266.9 → 260.6 B, heap 282.0 → 273.3 B: **427.0 → 418.1 B per event as inserted,
399.2 → 390.4 B once compacted**. The column was then kept, nullable (a new row stores null, which takes a bit of
the null bitmap): the run above (16:22Z) measured the same heap, 419.4 B as inserted (the key index's splits move by
about 1 B from run to run) and 390.5 B once compacted.

The read paths at this size (\`EXPLAIN ANALYZE\`):

${explained.map((p) => `- ${p.name}: ${p.plan}`).join("\n")}

Target ≤ 400 bytes per event all in — once a day is compacted (what each kept day costs):
**${perRow(packed.total) <= 400 ? "met" : "not met"}**; as inserted (a day and the two after it, until compacted):
**${perRow(s.total) <= 400 ? "met" : "not met"}**. LiteLLM's spend log: 6.3 KB per row
(26.3 GB for 5.9 M rows, BerriAI/litellm#41499). The ledger invariants ${violations.length === 0 ? "held" : "did NOT hold"} after the run.
`;
    writeSection("usage-size", md);
    console.log("written to docs/benchmarks.md");
  } finally {
    await bench.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
