// A usage row names the deployment that served it by an id into provider_models (docs/adr/0035): the bytes a call
// takes go down, and nothing anyone reads changes — the request log, a call's page, its CSV export and a person's data
// export read the deployment's name, beside rows written before the change (the name as text). A name two batches
// bring at once is stored once, and neither batch loses it.
import { describe, expect, it } from "vitest";
import { exportRequests, requestDetail } from "@/lib/analytics/requests";
import { requestExportQuery } from "@/lib/analytics/schemas";
import type { Actor } from "@/lib/auth/types";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import type { Tx } from "@/lib/db/client";
import { exportUserData } from "@/lib/gdpr/export";
import { ADMIN_ACTOR, event, fundedCustomer, seedPricedModel } from "../helpers/billing";
import { callIdAt } from "../helpers/call-ids";
import { createTestDatabase } from "../helpers/db";
import { adminLogAround, hourAround } from "../helpers/request-log";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
await seedPricedModel(sql);

async function stored(callId: string) {
  const [row] = await sql<
    { provider_model_id: number | null; provider_model: string | null; size: number }[]
  >`
    select provider_model_id, provider_model, pg_column_size(e.*) as size from usage_events e where call_id = ${callId}`;
  return row!;
}

const names = (name: string) => sql<{ id: number }[]>`select id from provider_models where name = ${name}`;

/** How many settle_usage statements are waiting on a lock (another transaction's uncommitted name). */
const batchesWaiting = async () =>
  (await sql`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%settle_usage%'`)
    .length;

/**
 * Runs `work` in a transaction held open once it is done, until `release()`; then the transaction commits, or rolls
 * back when `rollback` is set. Resolves once the work is done.
 */
async function heldOpen(work: (tx: Tx) => Promise<unknown>, rollback = false) {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let opened!: () => void;
  const ready = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const done = sql
    .begin(async (tx) => {
      await work(tx);
      opened();
      await held;
      if (rollback) throw new Error("rolled back");
    })
    .then(
      () => "committed",
      (e: Error) => e.message,
    );
  await ready;
  return { release, done };
}

async function readAll(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}

describe("a usage row's deployment, by id", () => {
  it("is stored as an id, and every reader shows its name, as from a row written before with the name as text", async () => {
    const c = await fundedCustomer(sql, adminId, "deployment@example.com");
    const now = Date.now() - 60_000;
    const at = new Date(now).toISOString();
    const deployment = "anthropic/claude-sonnet-4-20250514";
    const [named, again, none] = [callIdAt(now), callIdAt(now + 1), callIdAt(now + 2)];
    await settleUsage(sql, [
      event(c.keyId, named, { providerModel: deployment, startedAt: at, endedAt: at }),
      event(c.keyId, again, { providerModel: deployment, startedAt: at, endedAt: at }),
      event(c.keyId, none, { providerModel: "", startedAt: at, endedAt: at }),
    ]);
    const [name] = await names(deployment);
    expect(name).toBeDefined();
    const row = await stored(named);
    expect([row.provider_model_id, row.provider_model]).toEqual([name!.id, null]);
    expect((await stored(again)).provider_model_id).toBe(name!.id);
    // No deployment reported: nothing stored, '' read (as the column's old default).
    expect(await stored(none)).toMatchObject({ provider_model_id: null, provider_model: null });
    expect((await sql`select 1 from provider_models where name = ''`).length).toBe(0);

    const admin = ADMIN_ACTOR(adminId);
    const range = hourAround(now);
    const log = async () => (await adminLogAround(sql, adminId, now, { keyId: c.keyId, limit: 50 })).items;
    const before = await log();
    expect(before.map((r) => [r.callId, r.providerModel]).sort()).toEqual(
      [
        [named, deployment],
        [again, deployment],
        [none, ""],
      ].sort(),
    );
    const namedRow = before.find((r) => r.callId === named)!;
    const detail = await requestDetail(sql, admin, namedRow.id, at.slice(0, 10));
    expect(detail.providerModel).toBe(deployment);
    const csv = await readAll(
      await exportRequests(sql, admin, requestExportQuery.parse({ ...range, keyId: c.keyId })),
    );
    const [header, ...lines] = csv.trim().split("\n");
    const column = header!.split(",").indexOf("provider_model");
    expect(column).toBeGreaterThan(-1);
    expect(lines.map((l) => l.split(",")[column]).sort()).toEqual(["", deployment, deployment]);
    const person: Actor = { kind: "user", userId: c.userId, role: "developer" };
    const exported = JSON.parse(await readAll((await exportUserData(sql, person, c.userId)).stream));
    const usage = exported.usage as { callId: string; providerModel: string }[];
    expect(usage.map((u) => [u.callId, u.providerModel]).sort()).toEqual(
      [
        [named, deployment],
        [again, deployment],
        [none, ""],
      ].sort(),
    );

    // The same call as a row written before the change (the name as text, no id): the name's 35 bytes against the id's
    // 4, less what alignment takes back (25 in this row's shape), and read the same.
    await sql`update usage_events set provider_model_id = null, provider_model = ${deployment} where call_id = ${named}`;
    expect((await stored(named)).size - row.size).toBeGreaterThanOrEqual(24);
    expect(await log()).toEqual(before);
    expect(await requestDetail(sql, admin, namedRow.id, at.slice(0, 10))).toEqual(detail);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("a batch adds its new names in name order, so two batches bringing the same new names never wait on each other in a cycle", async () => {
    const c = await fundedCustomer(sql, adminId, "order@example.com");
    const tag = Date.now();
    const fresh = Array.from(
      { length: 24 },
      (_, i) => `${["openai", "azure", "anthropic", "vertex_ai"][i % 4]}/m-${tag}-${(i * 7919) % 97}`,
    );
    const shuffled = [...fresh].sort(() => Math.random() - 0.5);
    const now = Date.now() - 20_000;
    await settleUsage(
      sql,
      shuffled.map((name, i) => event(c.keyId, callIdAt(now + i), { providerModel: name })),
    );
    const added = await sql<{ name: string }[]>`
      select name from provider_models where name like ${`%-${tag}-%`} order by id`;
    expect(added.map((r) => r.name)).toEqual([...fresh].sort());

    // The sequence an outside review found deadlocking: a third session holds one new name uncommitted; batch Q (three
    // new names) and batch P (two of them) each add what they can and wait on it; it goes away. Both batches settle.
    const [p, q] = [
      await fundedCustomer(sql, adminId, "p@example.com"),
      await fundedCustomer(sql, adminId, "q@example.com"),
    ];
    const [gpt, claude, dep] = [`openai/gpt-${tag}`, `anthropic/claude-${tag}`, `azure/dep-${tag}`];
    const holder = await heldOpen((tx) => tx`insert into provider_models (name) values (${gpt})`, true);
    const batchQ = settleUsage(sql, [
      event(q.keyId, callIdAt(now + 100), { providerModel: gpt }),
      event(q.keyId, callIdAt(now + 101), { providerModel: claude }),
      event(q.keyId, callIdAt(now + 102), { providerModel: dep }),
    ]);
    await expect.poll(batchesWaiting, { timeout: 10_000 }).toBe(1);
    const batchP = settleUsage(sql, [
      event(p.keyId, callIdAt(now + 200), { providerModel: claude }),
      event(p.keyId, callIdAt(now + 201), { providerModel: gpt }),
    ]);
    await expect.poll(batchesWaiting, { timeout: 10_000 }).toBe(2);
    holder.release();
    expect(await holder.done).toBe("rolled back");
    expect([(await batchQ).inserted, (await batchP).inserted]).toEqual([3, 2]);
    for (const name of [gpt, claude, dep]) expect((await names(name)).length).toBe(1);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("a name two batches bring at once is stored once; the batch that did not add it keeps it as text", async () => {
    const first = await fundedCustomer(sql, adminId, "first@example.com");
    const second = await fundedCustomer(sql, adminId, "second@example.com");
    const deployment = `vertex_ai/gemini-2.5-flash-${Date.now()}`;
    const now = Date.now() - 30_000;
    const [a, b] = [callIdAt(now), callIdAt(now + 1)];
    // The first batch adds the name and holds its transaction open; the second, on another connection, reaches the
    // name's insert and waits on the first's uncommitted row.
    const firstBatch = await heldOpen((tx) =>
      settleUsage(tx, [event(first.keyId, a, { providerModel: deployment })]),
    );
    expect(await names(deployment)).toHaveLength(0);
    const secondBatch = settleUsage(sql, [event(second.keyId, b, { providerModel: deployment })]);
    await expect.poll(batchesWaiting, { timeout: 10_000 }).toBe(1);
    firstBatch.release();
    expect(await firstBatch.done).toBe("committed");
    expect((await secondBatch).inserted).toBe(1);
    const [name] = await names(deployment);
    expect((await names(deployment)).length).toBe(1);
    expect(await stored(a)).toMatchObject({ provider_model_id: name!.id, provider_model: null });
    expect(await stored(b)).toMatchObject({ provider_model_id: null, provider_model: deployment });
    const log = await adminLogAround(sql, adminId, now, { limit: 50 });
    const shown = new Map(log.items.map((r) => [r.callId, r.providerModel]));
    expect([shown.get(a), shown.get(b)]).toEqual([deployment, deployment]);
    // The next batch with the name finds it.
    const c = callIdAt(now + 2);
    await settleUsage(sql, [event(second.keyId, c, { providerModel: deployment })]);
    expect((await stored(c)).provider_model_id).toBe(name!.id);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });
});
