// A query of the platform never waits behind another one's lock wait (docs/adr/0041). postgres.js writes a query onto a
// busy connection when none is idle (pipelining): written behind a statement waiting for a row lock (a hold waiting
// for its key's row while a batch settles it, an erasure), an unrelated request of the same instance waited as long as
// that lock was held. createClient no longer pipelines: a query waits for a connection of its own.
import { afterAll, describe, expect, it } from "vitest";
import { createClient } from "@/lib/db/client";
import { createTestDatabase } from "../helpers/db";

const { sql, url } = await createTestDatabase();
await sql`create table lock_probe (id int primary key, n int not null)`;
await sql`insert into lock_probe values (1, 0)`;

const clients: ReturnType<typeof createClient>[] = [];
afterAll(async () => {
  for (const c of clients) await c.end({ timeout: 1 });
});

const sleep = (ms: number) => new Promise<"stuck">((r) => setTimeout(() => r("stuck"), ms));

/** Waits until a statement of this database waits on a lock (each test file has a database of its own). */
async function untilLockWait() {
  for (let i = 0; i < 200; i++) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`;
    if (row!.n > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the update never waited on the row lock");
}

describe.each([
  ["direct connections (prepared statements)", true],
  ["behind a transaction pooler (DATABASE_PREPARE=false)", false],
])("%s", (_, prepare) => {
  it("a query asked while one connection waits on a row lock and the other is busy is answered by the busy one, not written behind the wait", async () => {
    const client = createClient({ url, max: 2, prepare, applicationName: "pipelining-probe" });
    clients.push(client);
    await client`select 1`; // both connections need not exist yet: the first is opened here
    const holder = await sql.reserve();
    await holder`begin`;
    await holder`select n from lock_probe where id = 1 for update`;
    let blocked: Promise<unknown> | undefined;
    try {
      blocked = client`update lock_probe set n = n + 1 where id = 1`.execute();
      await untilLockWait();
      // The pool's other connection is busy for a moment; then a query nobody locks.
      const busy = client`select pg_sleep(0.3)`.execute();
      const answer = await Promise.race([
        client<{ one: number }[]>`select 1 as one`.execute().then(([r]) => r!.one),
        sleep(5_000),
      ]);
      // Pipelined, it was written behind the update and answered only once the lock was let go: "stuck".
      expect(answer).toBe(1);
      await busy;
      // A transaction asked meanwhile runs too (it waits for a connection, never behind the lock wait).
      const inTx = await Promise.race([
        client.begin(async (tx) => (await tx<{ two: number }[]>`select 2 as two`)[0]!.two),
        sleep(5_000),
      ]);
      expect(inTx).toBe(2);
    } finally {
      await holder`rollback`;
      holder.release();
      await blocked;
    }
    expect((await sql<{ n: number }[]>`select n from lock_probe where id = 1`)[0]!.n).toBeGreaterThan(0);
  });
});
