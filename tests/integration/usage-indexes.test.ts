// The indexes usage_events keeps (supabase/migrations/20261205110000_usage_events_lean.sql) are the ones its read
// paths need: on a table of 60,000 calls over a week, the request log's first page and a deep cursor page (an
// admin's, a developer's own, an organization's), the per-key usage API and the call id search each reach
// usage_events through an index, never a sequential scan. The plans are the real queries' own, as the library
// sends them (auto_explain on this connection), so dropping an index one of them needs fails here.
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listRequests, requestDetail } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import type { Actor } from "@/lib/auth/types";
import { listUsage } from "@/lib/billing/accounts";
import { settleUsage } from "@/lib/billing/settle";
import type { Sql } from "@/lib/db/client";
import { keyUsage } from "@/lib/keys/self";
import { callCharge } from "@/lib/playground/calls";
import { search } from "@/lib/search/search";
import { event, insertKey, seedPricedModel } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { insertUser } from "../helpers/users";

const { sql, url } = await createTestDatabase();

const USERS = 40;
const CALLS = 60_000;
const DAY_MS = 86_400_000;

const users: string[] = [];
const keys: string[] = [];
let adminId = "";
let orgAccount = "";

/** One connection whose every statement's plan comes back as a notice (auto_explain), collected per read path. */
let plans: string[] = [];
let explained: Sql;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await seedPricedModel(sql);
  // An organization whose account the last user's second key spends from.
  const [org] = await sql<{ id: string }[]>`
    insert into organizations (name, slug) values ('Index Org', 'index-org') returning id`;
  const [account] = await sql<{ id: string }[]>`
    insert into accounts (kind, organization_id) values ('team', ${org!.id}) returning id`;
  orgAccount = account!.id;
  for (let i = 0; i < USERS; i++) {
    const id = await insertUser(sql, { email: `dev-${i}@example.com`, role: "developer" });
    users.push(id);
    keys.push(await insertKey(sql, id));
    if (i < USERS - 1) keys.push(await insertKey(sql, id));
    else {
      await sql`insert into organization_members (organization_id, user_id, role) values (${org!.id}, ${id}, 'owner')`;
      const [orgKey] = await sql<{ id: string }[]>`
        insert into api_keys (user_id, account_id, name, prefix, key_hash)
        values (${id}, ${orgAccount}, 'org key', 'tg_test', ${Buffer.from(randomUUID())}) returning id`;
      keys.push(orgKey!.id);
    }
  }
  // A few calls through the real settle path (unpriced: no balance needed), then the week's bulk as the rows
  // settle_usage writes for unreserved free calls, spread over every key and the last 7 days.
  await settleUsage(
    sql,
    keys.slice(0, 4).map((k) => event(k, randomUUID())),
  );
  // The week's daily partitions, as the usage.partitions job keeps them.
  await sql`select * from ensure_usage_partitions(current_date - 8, current_date + 1)`;
  await sql`
    insert into usage_events (key_id, call_id, account_id, org, model_group, provider_model, status, stream,
                              prompt_tokens, completion_tokens, started_at, ended_at, kind)
    select k.id, gen_random_uuid()::text, k.account_id, k.org, 'fake-small', 'openai/fake-small',
           case when g % 50 = 0 then 'failure' else 'success' end, g % 2 = 0, 100 + g % 900, 50 + g % 400,
           now() - (g * interval '7 days' / ${CALLS}), now() - (g * interval '7 days' / ${CALLS}) + interval '2 s',
           'chat'
    from generate_series(1, ${CALLS}) g
    join lateral (select ak.id, ak.account_id, case when a.kind = 'team' then true end as org
                  from api_keys ak join accounts a on a.id = ak.account_id
                  where ak.id = (${sql.array(keys)}::uuid[])[1 + g % ${keys.length}]) k on true`;
  // Each call's claim, as settle_usage writes it (the call id search and every look-up by call read it).
  await sql`insert into usage_calls (call_key, key_id, started_at)
            select call_key(call_id), key_id, started_at from usage_events on conflict do nothing`;
  // As autovacuum leaves a day behind it: the BRIN index on id summarized (its autosummarize asks for each range as it
  // fills), statistics current.
  await sql`vacuum analyze usage_events`;
  await sql`analyze usage_calls`;
  explained = postgres(url, {
    max: 1,
    onnotice: (n) => {
      if (n.message?.includes("Query Text")) plans.push(n.message);
    },
    connection: { TimeZone: "UTC" },
    types: { bigint: postgres.BigInt },
  }) as unknown as Sql;
  await explained`load 'auto_explain'`;
  await explained`set auto_explain.log_min_duration = 0`;
  await explained`set auto_explain.log_level = notice`;
  // Executed plans: a partition pruned at run time (a nested loop's parameter) shows "never executed".
  await explained`set auto_explain.log_analyze = on`;
  await explained`set auto_explain.log_timing = off`;
}, 120_000);

afterAll(async () => {
  await explained?.end();
});

/** The plans of the statements `run` sends that read usage_events. */
async function plansOf(run: (db: Sql) => Promise<unknown>): Promise<string[]> {
  plans = [];
  await run(explained);
  return plans.filter((p) => p.includes("usage_events"));
}

/**
 * The sequential scans of usage_events or of its partitions that read a partition of any size. A partition whose whole
 * read costs under SMALL_PARTITION_COST (about 2,000 rows) may be read whole: that is the cheaper plan, and the week's
 * edge days hold a slice whose size follows the time of day the test runs (a quarter of an hour's calls at 23:45 UTC).
 * Every full day holds ~8,500 calls (cost in the hundreds).
 */
const SMALL_PARTITION_COST = 100;
function bigSeqScans(plan: string): string[] {
  return [...plan.matchAll(/Seq Scan on usage_events\w*(?: \w+)? +\(cost=[\d.]+\.\.([\d.]+) /g)]
    .filter((m) => Number(m[1]) >= SMALL_PARTITION_COST)
    .map((m) => m[0]);
}

/** A partition's index as PostgreSQL names it from the parent's: usage_events_pYYYYMMDD_<columns>_idx. */
const PARTITION_INDEX: Record<string, RegExp> = {
  usage_events_org_account_idx: /usage_events_p\d{8}_account_id_started_at_idx/,
  usage_events_key_idx: /usage_events_p\d{8}_key_id_started_at_idx/,
};

function expectIndexed(found: string[], index: string) {
  expect(found.length).toBeGreaterThan(0);
  for (const plan of found) expect(bigSeqScans(plan)).toEqual([]);
  const joined = found.join("\n");
  if (PARTITION_INDEX[index]) expect(joined).toMatch(PARTITION_INDEX[index]!);
  else expect(joined).toContain(index);
}

/**
 * Fails unless a plan scanned one of the partition indexes attached to the parent index `parent`. Their names are
 * PostgreSQL's and not unique by shape: the partial failures and overrun indexes are on started_at too, so the time
 * index of a partition may be named usage_events_pYYYYMMDD_started_at_idx, …_idx1 or …_idx2.
 */
async function expectIndexedBy(found: string[], parent: string) {
  expect(found.length).toBeGreaterThan(0);
  for (const plan of found) expect(bigSeqScans(plan)).toEqual([]);
  const children = await sql<{ name: string }[]>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = ${parent}::regclass`;
  expect(children.length).toBeGreaterThan(0);
  const scanned = [...found.join("\n").matchAll(/Index (?:Only )?Scan(?: Backward)? using (\S+) on/g)].map(
    (m) => m[1],
  );
  expect(scanned.filter((name) => children.some((c) => c.name === name)).length).toBeGreaterThan(0);
}

/**
 * The UTC days of the partitions a plan read (executed: pruned at plan time they are absent, at run time "never
 * executed"); the default partition as "default".
 */
function partitionsRead(plans: string[]): string[] {
  const days = new Set<string>();
  for (const plan of plans) {
    for (const line of plan.split("\n")) {
      const m = / on usage_events_(p(\d{8})|default)\b/.exec(line);
      if (!m || line.includes("never executed")) continue;
      days.add(m[2] ? `${m[2].slice(0, 4)}-${m[2].slice(4, 6)}-${m[2].slice(6, 8)}` : "default");
    }
  }
  return [...days].sort();
}

/** Fails when a plan read a partition outside [from, to] (UTC days) or the default partition. */
function expectPruned(plans: string[], from: string, to: string) {
  const read = partitionsRead(plans);
  expect(read.length).toBeGreaterThan(0);
  const outside = read.filter((d) => d === "default" || d < from.slice(0, 10) || d > to.slice(0, 10));
  expect(outside).toEqual([]);
}

const admin = (): Actor => ({ userId: adminId, kind: "user", role: "admin" });
const developer = (i: number): Actor => ({ userId: users[i]!, kind: "user", role: "developer" });
const week = () => ({ from: new Date(Date.now() - 7 * DAY_MS).toISOString(), to: new Date().toISOString() });

describe("usage_events read paths at 60,000 calls", () => {
  it("the request log's first page and a deep cursor page (an admin's) read the started_at index", async () => {
    const first = await plansOf((db) =>
      listRequests(db, admin(), requestLogQuery.parse({ ...week(), limit: 50 })),
    );
    await expectIndexedBy(first, "usage_events_started_idx");
    expectPruned(first, week().from, week().to);
    const [deep] = await sql<{ micros: string; id: string }[]>`
      select (extract(epoch from e.started_at) * 1000000)::bigint::text as micros, e.id::text as id from usage_events e
      order by e.started_at desc, e.id desc offset 40000 limit 1`;
    const cursor = Buffer.from(`${deep!.micros}:${deep!.id}`).toString("base64url");
    let page: Awaited<ReturnType<typeof listRequests>> | undefined;
    const deepPlans = await plansOf(async (db) => {
      page = await listRequests(db, admin(), requestLogQuery.parse({ ...week(), limit: 50, cursor }));
    });
    expect(page!.items).toHaveLength(50);
    expect(page!.items.map((r) => r.id)).not.toContain(deep!.id);
    expect(BigInt(page!.items[0]!.startedAt.getTime()) * 1000n).toBeLessThanOrEqual(BigInt(deep!.micros));
    await expectIndexedBy(deepPlans, "usage_events_started_idx");
    expectPruned(deepPlans, week().from, week().to);
  });

  it("a developer's own request log and an admin's filtered by that developer read an index", async () => {
    let items = 0;
    const own = await plansOf(async (db) => {
      items = (await listRequests(db, developer(3), requestLogQuery.parse({ ...week(), limit: 50 }))).items
        .length;
    });
    expect(items).toBe(50);
    expectIndexed(own, "Index Scan");
    expectPruned(own, week().from, week().to);
    // usage_events has no user index (docs/adr/0037): a user's log is read key by key, each key through its index.
    let pages: Awaited<ReturnType<typeof listRequests>>[] = [];
    const filtered = await plansOf(async (db) => {
      const q = requestLogQuery.parse({ ...week(), limit: 50, userId: users[3] });
      const first = await listRequests(db, admin(), q);
      const second = await listRequests(db, admin(), { ...q, cursor: first.nextCursor! });
      pages = [first, second];
    });
    expectIndexed(filtered, "usage_events_key_idx");
    expectPruned(filtered, week().from, week().to);
    // The pages are the user's calls in the log's order, both keys' interleaved, the second after the first's cursor.
    const expected = await sql<{ id: string }[]>`
      select e.id::text from usage_events e
      where e.key_id in (select id from api_keys where user_id = ${users[3]!}) and e.started_at >= ${week().from} and e.started_at < ${week().to}
      order by e.started_at desc, e.id desc limit 100`;
    expect(pages.flatMap((p) => p.items.map((r) => r.id))).toEqual(expected.map((r) => r.id));
    expect(new Set(pages.flatMap((p) => p.items.map((r) => r.keyId)))).toEqual(new Set([keys[6], keys[7]]));
  });

  it("a user's log is read through the keys that called in its range only, not every key they ever made", async () => {
    // 60 keys more for the developer, none of which ever called (made and revoked by a script, say).
    for (let i = 0; i < 60; i++) await insertKey(sql, users[3]!);
    let items = 0;
    const found = await plansOf(async (db) => {
      items = (
        await listRequests(db, admin(), requestLogQuery.parse({ ...week(), limit: 50, userId: users[3] }))
      ).items.length;
    });
    expect(items).toBe(50);
    // The page's key by key read went over the two keys that called this week.
    const walked = [...found.join("\n").matchAll(/Function Scan on unnest uk .*?actual rows=(\d+)/g)].map(
      (m) => m[1],
    );
    expect(walked).toEqual(["2"]);
  });

  it("a key's user and account never change: the key by key reads depend on it", async () => {
    await expect(sql`update api_keys set user_id = ${users[4]!} where id = ${keys[6]!}`).rejects.toThrow(
      /never change/,
    );
    await expect(sql`update api_keys set account_id = ${orgAccount} where id = ${keys[6]!}`).rejects.toThrow(
      /never change/,
    );
    // Other columns change as before.
    await sql`update api_keys set name = 'renamed' where id = ${keys[6]!}`;
    const [row] = await sql<{ user_id: string; name: string }[]>`
      select user_id::text, name from api_keys where id = ${keys[6]!}`;
    expect(row).toEqual({ user_id: users[3], name: "renamed" });
  });

  it("an organization's request log reads the (account_id, started_at) index, which holds organizations' calls only", async () => {
    const owner = developer(USERS - 1);
    let pages: Awaited<ReturnType<typeof listRequests>>[] = [];
    const found = await plansOf(async (db) => {
      const q = requestLogQuery.parse({ ...week(), limit: 50, org: "index-org" });
      const first = await listRequests(db, owner, q);
      pages = [first, await listRequests(db, owner, { ...q, cursor: first.nextCursor! })];
    });
    expectIndexed(found, "usage_events_org_account_idx");
    expectPruned(found, week().from, week().to);
    // The pages are the organization's calls in the log's order, by a read that does not use the index.
    const expected = await sql<{ id: string }[]>`
      select e.id::text from usage_events e
      where e.key_id in (select id from api_keys where account_id = ${orgAccount})
        and e.started_at >= ${week().from} and e.started_at < ${week().to}
      order by e.started_at desc, e.id desc limit 100`;
    expect(expected).toHaveLength(100);
    expect(pages.flatMap((p) => p.items.map((r) => r.id))).toEqual(expected.map((r) => r.id));
    // docs/adr/0040: the index holds the organization's rows and no person's; every row says which it is.
    const [entries] = await sql<{ indexed: number; org: number; persons: number; unmarked: number }[]>`
      select (select count(*) from usage_events where org)::int as indexed,
             (select count(*) from usage_events e join accounts a on a.id = e.account_id where a.kind = 'team')::int as org,
             (select count(*) from usage_events e join accounts a on a.id = e.account_id
              where a.kind = 'user' and e.org is not null)::int as persons,
             (select count(*) from usage_events e join accounts a on a.id = e.account_id
              where a.kind = 'team' and e.org is not true)::int as unmarked`;
    expect(entries).toEqual({ indexed: entries!.org, org: entries!.org, persons: 0, unmarked: 0 });
    expect(entries!.org).toBeGreaterThan(600);
    const [index] = await sql<{ def: string }[]>`
      select pg_get_indexdef('usage_events_org_account_idx'::regclass) as def`;
    expect(index!.def).toMatch(/\(account_id, started_at\) WHERE org$/);
  });

  it("every btree index of usage_events is ascending in time, so calls arriving newest last fill its pages (docs/adr/0042)", async () => {
    const defs = await sql<{ name: string; def: string }[]>`
      select indexrelid::regclass::text as name, pg_get_indexdef(indexrelid) as def from pg_index
      where indrelid = 'usage_events'::regclass and pg_get_indexdef(indexrelid) like '%USING btree%'
      order by 1`;
    expect(defs.map((d) => d.name)).toEqual([
      "usage_events_failures_idx",
      "usage_events_key_idx",
      "usage_events_org_account_idx",
      "usage_events_overrun_idx",
      "usage_events_started_idx",
    ]);
    for (const { def } of defs) expect(def).not.toMatch(/DESC/);
  });

  it("the admins' account page reads a person's calls key by key and an organization's through its index", async () => {
    const [personal] = await sql<
      { id: string }[]
    >`select id from accounts where owner_user_id = ${users[3]!}`;
    for (const [account, index] of [
      [personal!.id, "usage_events_key_idx"],
      [orgAccount, "usage_events_org_account_idx"],
    ] as const) {
      let pages: Awaited<ReturnType<typeof listUsage>>[] = [];
      const found = await plansOf(async (db) => {
        pages = [
          await listUsage(db, admin(), account, { page: 1, pageSize: 25 }),
          await listUsage(db, admin(), account, { page: 2, pageSize: 25 }),
        ];
      });
      const rows = found.filter((p) => !p.includes("count(*)"));
      expectIndexed(rows, index);
      // Not a walk of every call on the platform by time, filtered down to the account's (60,000 calls here).
      const removed = [...rows.join("\n").matchAll(/Rows Removed by Filter: (\d+)/g)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
      expect(removed).toBeLessThan(2_000);
      const expected = await sql<{ id: string }[]>`
        select e.id::text from usage_events e where e.key_id in (select id from api_keys where account_id = ${account})
        order by e.started_at desc, e.id desc limit 50`;
      expect(pages.flatMap((p) => p.items.map((r) => r.id))).toEqual(expected.map((r) => r.id));
      const [all] = await sql<{ n: number }[]>`
        select count(*)::int as n from usage_events e
        where e.key_id in (select id from api_keys where account_id = ${account})`;
      expect(pages[0]!.total).toBe(all!.n);
    }
  });

  it("an account's kind never changes: the organization index depends on it", async () => {
    await expect(sql`update accounts set kind = 'user' where id = ${orgAccount}`).rejects.toThrow(
      /never changes/,
    );
    const [personal] = await sql<
      { id: string }[]
    >`select id from accounts where owner_user_id = ${users[0]!}`;
    await expect(
      sql`update accounts set kind = 'team', owner_user_id = null where id = ${personal!.id}`,
    ).rejects.toThrow(/never changes/);
  });

  it("the per-key usage API (GET /api/v1/key/usage) reads one key's calls through an index", async () => {
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    let calls = 0;
    const found = await plansOf(async (db) => {
      const usage = await keyUsage(
        db,
        { id: keys[6]!, userId: users[3]! } as Parameters<typeof keyUsage>[1],
        day(Date.now() - 8 * DAY_MS),
        day(Date.now()),
      );
      calls = usage.totals.calls;
    });
    expect(calls).toBeGreaterThan(600);
    for (const plan of found) expect(bigSeqScans(plan)).toEqual([]);
    expect(found.join("\n")).toMatch(/usage_events_p\d{8}_(key|user)_id_started_at_idx/);
    expectPruned(found, day(Date.now() - 8 * DAY_MS), day(Date.now()));
  });

  it("a call id and a call id prefix are found through usage_calls, each reaching only its call's partition", async () => {
    const [one] = await sql<{ call_id: string; day: string }[]>`
      select call_id, to_char(started_at at time zone 'utc', 'YYYY-MM-DD') as day
      from usage_events order by id desc limit 1`;
    for (const q of [one!.call_id, one!.call_id.slice(0, 13)]) {
      let hits = 0;
      const found = await plansOf(async (db) => {
        hits = (await search(db, admin(), q)).calls.length;
      });
      expect(hits).toBeGreaterThanOrEqual(1);
      expectIndexed(found, "usage_calls_call_key");
      // A prefix of 13 characters (the search's shortest) may match another call: its partition is read too, never
      // the others.
      const read = partitionsRead(found);
      expect(read).toContain(one!.day);
      expect(read.length).toBeLessThanOrEqual(q.length === 36 ? 1 : 2);
    }
  });

  it("a call's detail with its day, and a call's charge by its id, read that day's partition only", async () => {
    const [one] = await sql<{ id: string; call_id: string; user_id: string; day: string }[]>`
      select e.id::text, e.call_id, k.user_id::text, to_char(e.started_at at time zone 'utc', 'YYYY-MM-DD') as day
      from usage_events e join api_keys k on k.id = e.key_id order by started_at limit 1 offset 30000`;
    let found = "";
    const detail = await plansOf(async (db) => {
      found = (await requestDetail(db, admin(), one!.id, one!.day)).callId;
    });
    expect(found).toBe(one!.call_id);
    expect(partitionsRead(detail)).toEqual([one!.day]);
    // Without its day (a link from elsewhere), every partition is asked through an index, none read whole: at this
    // size a day's (started_at, id) index, at a day's real size the BRIN index on id (ADR 0030; bench:usage-size shows
    // the plan at 28,000 calls a day).
    found = "";
    const anyDay = await plansOf(async (db) => {
      found = (await requestDetail(db, admin(), one!.id)).callId;
    });
    expect(found).toBe(one!.call_id);
    for (const plan of anyDay) expect(bigSeqScans(plan)).toEqual([]);
    let charged: unknown = null;
    const charge = await plansOf(async (db) => {
      charged = await callCharge(db, one!.user_id, one!.call_id);
    });
    expect(charged).not.toBeNull();
    expect(partitionsRead(charge)).toEqual([one!.day]);
  });
});
