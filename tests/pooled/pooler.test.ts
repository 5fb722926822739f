// The "pooled" project's own proof: its clients really reach PostgreSQL through PgBouncer in transaction mode (a few
// server connections shared by many clients, counted by PgBouncer's admin console), which is why nothing in Tollgate
// may keep state on a connection between transactions; and the money paths hold under concurrency through it.
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { createClient, inTransaction } from "@/lib/db/client";
import { signWebhook } from "@/lib/http/webhook-signature";
import { accountOf, event, insertKey, SYSTEM, seedPricedModel, topUp } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser } from "../helpers/users";

const pooledUrl = inject("pooledDatabaseUrl");
if (!pooledUrl) throw new Error("tests/pooled run in the pooled project only (vitest --project pooled)");
const { sql, url } = await createTestDatabase();
const database = new URL(url).pathname.slice(1);
const POOL_SIZE = 3;

/** PgBouncer's admin console (the virtual database "pgbouncer"): simple protocol only, no type lookups. */
const console_ = (() => {
  const admin = new URL(pooledUrl);
  admin.pathname = "/pgbouncer";
  return postgres(admin.toString(), { max: 1, fetch_types: false, prepare: false, onnotice: () => {} });
})();
afterAll(() => console_.end());

/** Fails instead of hanging: a lost answer behind a pooler never arrives. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function pool() {
  const rows = (await console_.unsafe("show pools").simple()) as unknown as Record<string, unknown>[];
  return rows.find((r) => r.database === database && r.pool_mode !== undefined) as
    | Record<string, string | number>
    | undefined;
}

describe("through PgBouncer (transaction mode)", () => {
  it("twelve clients share at most three server connections, and PgBouncer counts them", async () => {
    const many = createClient({ url, max: 12, prepare: false });
    try {
      const pids = await Promise.all(
        Array.from(
          { length: 12 },
          async () => (await many<{ pid: number }[]>`select pg_backend_pid() as pid, pg_sleep(0.2)`)[0]!.pid,
        ),
      );
      expect(new Set(pids).size).toBeLessThanOrEqual(POOL_SIZE);
      const clients = (await console_.unsafe("show clients").simple()) as unknown as {
        database: string;
      }[];
      expect(clients.filter((c) => c.database === database).length).toBeGreaterThanOrEqual(12);
    } finally {
      await many.end();
    }
    const row = await pool();
    expect(row).toBeDefined();
    expect(row!.pool_mode).toBe("transaction");
    const servers = ["sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"].reduce(
      (n, k) => n + Number(row![k] ?? 0),
      0,
    );
    expect(servers).toBeGreaterThan(0);
    expect(servers).toBeLessThanOrEqual(POOL_SIZE);
  });

  it("a session-level setting made by one client is seen by another: nothing may rely on one", async () => {
    const a = createClient({ url, max: 1, prepare: false });
    const b = createClient({ url, max: 1, prepare: false });
    try {
      const [mine] = await a<{ pid: number }[]>`
        select pg_backend_pid() as pid, set_config('tollgate.now', '2001-02-03T04:05:06Z', false)`;
      // PgBouncer hands the server connection a released last to the next client: b lands on a's.
      const [theirs] = await b<
        { pid: number; at: Date }[]
      >`select pg_backend_pid() as pid, tollgate_now() as at`;
      expect(theirs!.pid).toBe(mine!.pid);
      expect(theirs!.at.toISOString()).toBe("2001-02-03T04:05:06.000Z");
      // A transaction-local setting (what the test clock and erasure use) ends with its transaction.
      await b`select set_config('tollgate.now', '', false)`;
      await a.begin(async (tx) => {
        await tx`select set_config('tollgate.now', '2001-02-03T04:05:06Z', true)`;
      });
      const [after] = await b<{ at: Date }[]>`select tollgate_now() as at`;
      expect(Math.abs(after!.at.getTime() - Date.now())).toBeLessThan(60_000);
    } finally {
      await a`select set_config('tollgate.now', '', false)`;
      await a.end();
      await b.end();
    }
  });

  it("queries sent at once on one connection all get their answers (no pipelining behind the pooler)", async () => {
    // postgres.js pipelines a query without parameters behind a busy one; PgBouncer hands the server connection to
    // another client at the first ReadyForQuery, and the later answers never come (porsager/postgres#970).
    const one = createClient({ url, max: 1, prepare: false });
    try {
      // As grantLease asks: one query without parameters, others with, at once (Promise.all).
      const answers = await within(
        5_000,
        Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            i % 2 ? one<{ n: number }[]>`select ${i}::int as n` : one<{ n: number }[]>`select 0 as n`,
          ),
        ),
      );
      expect(answers.map((r) => r[0]!.n)).toEqual([0, 1, 0, 3, 0, 5]);
    } finally {
      await one.end({ timeout: 1 });
    }
  });

  it("transactions and savepoints hold one server connection each, concurrently, on a small client pool", async () => {
    const few = createClient({ url, max: 4, prepare: false });
    try {
      await few`create table if not exists pooled_tx (n int primary key)`;
      const results = await within(
        20_000,
        Promise.allSettled(
          Array.from({ length: 24 }, (_, n) =>
            few.begin(async (tx) => {
              const [{ pid }] = (await tx`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
              await tx`insert into pooled_tx values (${n})`;
              await tx`select pg_sleep(0.02)`;
              // A failing savepoint rolls back only itself: the transaction goes on, on the same server connection.
              let inner = 0;
              await inTransaction(tx, async (sp) => {
                [{ inner }] = (await sp`select pg_backend_pid() as inner`) as unknown as [{ inner: number }];
                await sp`insert into pooled_tx values (${1000 + n})`;
                throw new Error("undo the savepoint");
              }).catch(() => undefined);
              expect(inner).toBe(pid);
              const [{ again }] = (await tx`select pg_backend_pid() as again`) as unknown as [
                { again: number },
              ];
              expect(again).toBe(pid);
              if (n % 6 === 5) throw new Error("roll this one back");
              return n;
            }),
          ),
        ),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(20);
      const rows = await few<{ n: number }[]>`select n from pooled_tx order by n`;
      expect(rows.map((r) => r.n)).toEqual(
        Array.from({ length: 24 }, (_, n) => n).filter((n) => n % 6 !== 5),
      );
      // Nothing was left open on a server connection the pool hands to others.
      const [open] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and state like 'idle in transaction%'`;
      expect(open!.n).toBe(0);
    } finally {
      await few.end({ timeout: 1 });
    }
  });

  it("eight concurrent starts of one day's settlement start it once (a transaction's advisory lock)", async () => {
    const { startSettlement, previousUtcDay } = await import("@/lib/settlement/run");
    const { db } = await import("@/lib/db");
    const day = previousUtcDay();
    const starts = await Promise.allSettled(
      Array.from({ length: 8 }, () =>
        startSettlement(db(), SYSTEM, { day, trigger: "manual", chunkAccounts: 100 }),
      ),
    );
    const started = starts.filter((r) => r.status === "fulfilled" && r.value.started);
    expect(started).toHaveLength(1);
    for (const r of starts) {
      if (r.status === "rejected") expect((r.reason as { code?: string }).code).toBe("conflict");
    }
    const [runs] = await sql<
      { n: number }[]
    >`select count(*)::int as n from settlement_runs where day = ${day}`;
    expect(runs!.n).toBe(1);
  });

  it("CSV downloads that stop reading hold no server connection: others' queries still answer", async () => {
    const { exportRequests } = await import("@/lib/analytics/requests");
    const { requestExportQuery } = await import("@/lib/analytics/schemas");
    const { settleUsage } = await import("@/lib/billing/settle");
    const adminId = await insertUser(sql, { email: "exporter-admin@example.com", role: "admin" });
    const userId = await insertUser(sql, { email: "exporter@example.com" });
    await seedPricedModel(sql);
    await topUp(sql, adminId, (await accountOf(sql, userId)).id, 100_000_000n);
    const keyId = await insertKey(sql, userId);
    await settleUsage(
      sql,
      Array.from({ length: 2500 }, () => event(keyId, randomUUID())),
    );
    const actor = { userId, kind: "user" as const, role: "developer" as const };
    const app = createClient({ url, max: POOL_SIZE, prepare: false });
    const other = createClient({ url, max: 1, prepare: false });
    try {
      // As many downloads as the pooler has server connections read their header and first page, then stall.
      const readers = [];
      for (let i = 0; i < POOL_SIZE; i++) {
        const reader = (await exportRequests(app, actor, requestExportQuery.parse({}))).getReader();
        await reader.read();
        await reader.read();
        readers.push(reader);
      }
      const [answer] = await within(5_000, other<{ ok: number }[]>`select 1 as ok`);
      expect(answer!.ok).toBe(1);
      // A download that goes on reads every call once, newest first, across its pages.
      let text = "";
      const decoder = new TextDecoder();
      for (let chunk = await readers[0]!.read(); !chunk.done; chunk = await readers[0]!.read())
        text += decoder.decode(chunk.value);
      for (const r of readers.slice(1)) await r.cancel();
      const rows = text.split("\r\n").filter(Boolean);
      // The first page (1,000 calls) was read before the stall; the rest follow, each call once.
      expect(rows).toHaveLength(1500);
    } finally {
      await other.end({ timeout: 1 });
      await app.end({ timeout: 1 });
    }
  });

  it("a person's data exports that stop reading hold no server connection; one read through has every row once", async () => {
    const { exportUserData } = await import("@/lib/gdpr/export");
    const { settleUsage } = await import("@/lib/billing/settle");
    const adminId = await insertUser(sql, { email: "gdpr-admin@example.com", role: "admin" });
    const userId = await insertUser(sql, { email: "gdpr-exporter@example.com" });
    await seedPricedModel(sql);
    await topUp(sql, adminId, (await accountOf(sql, userId)).id, 100_000_000n);
    const keyId = await insertKey(sql, userId);
    await settleUsage(
      sql,
      Array.from({ length: 1200 }, () => event(keyId, randomUUID())),
    );
    // More conversations than a page (50), several at one moment: the paging key is (created_at, id).
    await sql`
      insert into playground_conversations (user_id, title, created_at)
      select ${userId}, 'chat ' || g, timestamptz '2026-01-01T00:00:00Z' + make_interval(secs => g / 4)
      from generate_series(1, 120) g`;
    const actor = { userId, kind: "user" as const, role: "developer" as const };
    const app = createClient({ url, max: POOL_SIZE, prepare: false });
    const other = createClient({ url, max: 1, prepare: false });
    try {
      const readers = [];
      for (let i = 0; i < POOL_SIZE; i++) {
        const reader = (await exportUserData(app, actor, userId)).stream.getReader();
        // The head, the usage section's opening and its first page: the export is in the middle of its usage.
        for (let c = 0; c < 3; c++) await reader.read();
        readers.push(reader);
      }
      const [answer] = await within(5_000, other<{ ok: number }[]>`select 1 as ok`);
      expect(answer!.ok).toBe(1);
      for (const r of readers) await r.cancel();
      const reader = (await exportUserData(app, actor, userId)).stream.getReader();
      let text = "";
      const decoder = new TextDecoder();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
        text += decoder.decode(chunk.value, { stream: true });
      const doc = JSON.parse(text) as {
        usage: { id: string; callId: string }[];
        playgroundConversations: { id: string; pageKey?: string }[];
      };
      expect(doc.usage).toHaveLength(1200);
      expect(new Set(doc.usage.map((u) => u.callId)).size).toBe(1200);
      expect(doc.playgroundConversations).toHaveLength(120);
      expect(new Set(doc.playgroundConversations.map((c) => c.id)).size).toBe(120);
      expect(doc.playgroundConversations.some((c) => "pageKey" in c)).toBe(false);
    } finally {
      await other.end({ timeout: 1 });
      await app.end({ timeout: 1 });
    }
  });

  describe("webhook ingest under concurrency", () => {
    let keyId: string;
    let userId: string;
    beforeAll(async () => {
      const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
      userId = await insertUser(sql, { email: "dev@example.com" });
      await seedPricedModel(sql);
      await topUp(sql, adminId, (await accountOf(sql, userId)).id, 10_000_000n);
      keyId = await insertKey(sql, userId);
    });

    it("16 signed batches, each sent twice at once, settle every call exactly once", async () => {
      const { POST } = await import("@/app/api/webhooks/litellm/route");
      const batches = Array.from({ length: 16 }, () =>
        JSON.stringify({ events: Array.from({ length: 5 }, () => event(keyId, randomUUID())) }),
      );
      const answers = await Promise.all(
        [...batches, ...batches].map((body) =>
          call(POST, {
            raw: body,
            headers: { "x-tollgate-signature": signWebhook(process.env.WEBHOOK_SECRET!, body) },
          }),
        ),
      );
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
      const inserted = answers.reduce((n, r) => n + Number(r.body.inserted), 0);
      expect(inserted).toBe(80);
      const [counts] = await sql<
        { usage: number }[]
      >`select count(*)::int as usage from usage_events where key_id = ${keyId}`;
      expect(counts!.usage).toBe(80);
      const account = await accountOf(sql, userId);
      expect(account.balance_micros).toBe(10_000_000n - 80n * 125n);
      expect(await checkLedgerInvariants(sql, account.id)).toEqual([]);
    });
  });
});
