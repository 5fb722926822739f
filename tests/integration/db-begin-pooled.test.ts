// createClient replaces sql.begin with its own, on a reserved connection (docs/adr/0023; every client since
// docs/adr/0041, which turned pipelining off). It must keep postgres.js's begin's rule: a query of the transaction that
// failed fails it, even when the body caught the error; else COMMIT of the aborted transaction is answered ROLLBACK
// (no error) and the call resolves as if its writes were kept. postgres.js's own client (`reference`, pipelining on)
// is the oracle; all reach the same database directly: only begin differs.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { createClient, type Tx } from "@/lib/db/client";
import { createTestDatabase } from "../helpers/db";
import { signal } from "../helpers/signal";

const { sql, url } = await createTestDatabase();
const reference = postgres(url, { max: 2, onnotice: () => {} });
const direct = createClient({ url, max: 2, prepare: true });
const pooled = createClient({ url, max: 2, prepare: false });
afterAll(async () => {
  await reference.end({ timeout: 1 });
  await direct.end({ timeout: 1 });
  await pooled.end({ timeout: 1 });
});

await sql`create table begin_tx (id text primary key, note text)`;

async function rows(prefix: string) {
  return (await sql<{ id: string }[]>`select id from begin_tx where id like ${`${prefix}%`} order by id`).map(
    (r) => r.id,
  );
}

/** A body that writes, then swallows a failing statement (a unique violation it "handles") and returns. */
const swallowing = (prefix: string) => async (tx: typeof sql) => {
  await tx`insert into begin_tx values (${`${prefix}-a`}, 'written first')`;
  await tx`insert into begin_tx values (${`${prefix}-a`}, 'duplicate')`.catch(() => "handled");
  return "done";
};

describe("beginOnReserved keeps postgres.js begin's semantics", () => {
  it("postgres.js's own begin: a caught failing statement still fails the transaction, loudly", async () => {
    await expect(reference.begin(swallowing("reference") as never)).rejects.toMatchObject({ code: "23505" });
    expect(await rows("reference")).toEqual([]);
  });

  it("direct connections: the same body fails with the statement's own error, and nothing is kept", async () => {
    await expect(direct.begin(swallowing("direct") as never)).rejects.toMatchObject({ code: "23505" });
    expect(await rows("direct")).toEqual([]);
  });

  it("behind the pooler: the same body fails with the statement's own error, and nothing is kept", async () => {
    await expect(pooled.begin(swallowing("pooled") as never)).rejects.toMatchObject({ code: "23505" });
    expect(await rows("pooled")).toEqual([]);
  });

  it("behind the pooler: a savepoint whose body caught its own failure is rolled back, not left aborting the transaction", async () => {
    const body = async (tx: typeof sql) => {
      await tx`insert into begin_tx values ('sp-outer', 'kept')`;
      await (tx as unknown as { savepoint: (f: (t: typeof sql) => Promise<unknown>) => Promise<unknown> })
        .savepoint(async (sp) => {
          await sp`insert into begin_tx values ('sp-outer', 'duplicate')`.catch(() => "handled");
        })
        .catch(() => "savepoint failed");
      await tx`insert into begin_tx values ('sp-after', 'also kept')`;
      return "done";
    };
    // postgres.js: the savepoint rolls back to itself and throws; the outer transaction goes on and commits both.
    await sql`delete from begin_tx where id like 'sp-%'`;
    await reference.begin(body as never);
    expect(await rows("sp-")).toEqual(["sp-after", "sp-outer"]);
    await sql`delete from begin_tx where id like 'sp-%'`;
    // The pooled client does the same (a savepoint left aborted would fail 'sp-after' with 25P02).
    await pooled.begin(body as never);
    expect(await rows("sp-")).toEqual(["sp-after", "sp-outer"]);
  });

  it("an array of queries, nested savepoints, a thrown string and a failing COMMIT each end cleanly", async () => {
    // A body returning an array of queries: all run in the transaction.
    const pair = (await pooled.begin(
      (tx) =>
        [
          tx`insert into begin_tx values ('arr-1', '')`,
          tx`insert into begin_tx values ('arr-2', '')`,
        ] as never,
    )) as unknown[];
    expect(pair).toHaveLength(2);
    expect(await rows("arr-")).toEqual(["arr-1", "arr-2"]);
    // Nested savepoints: the inner one fails alone, the outer keeps its row.
    await pooled.begin(async (tx) => {
      const t = tx as unknown as { savepoint: (f: (t: typeof sql) => Promise<unknown>) => Promise<unknown> };
      await t.savepoint(async (a) => {
        await a`insert into begin_tx values ('nest-outer', '')`;
        const ta = a as unknown as typeof t;
        await ta
          .savepoint(async (b) => {
            await b`insert into begin_tx values ('nest-inner', '')`;
            throw "not an Error";
          })
          .catch(() => undefined);
      });
    });
    expect(await rows("nest-")).toEqual(["nest-outer"]);
    // A thrown non-Error rolls back and is rethrown as it was.
    await expect(
      pooled.begin(async (tx) => {
        await tx`insert into begin_tx values ('str-1', '')`;
        throw "plain string";
      }),
    ).rejects.toBe("plain string");
    expect(await rows("str-")).toEqual([]);
    // A COMMIT that fails (a deferred constraint): rejected, nothing kept, the connection usable after.
    await sql`create table if not exists begin_def (id int primary key deferrable initially deferred)`;
    await expect(
      pooled.begin(async (tx) => {
        await tx`insert into begin_def values (1), (1)`;
      }),
    ).rejects.toMatchObject({ code: "23505" });
    const [state] = await pooled<{ s: string }[]>`select 'ok' as s`;
    expect(state!.s).toBe("ok");
    // No server connection left idle in a transaction.
    const [open] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and state like 'idle in transaction%'`;
    expect(open!.n).toBe(0);
  });
});

const sleep = (ms: number) => new Promise<"hung">((r) => setTimeout(() => r("hung"), ms));

/** The unhandled rejections seen while run runs, and for 100 ms after. */
async function unhandledDuring(run: () => Promise<unknown>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    await run();
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  return unhandled;
}
const codeOf = (e: unknown) => (e as { code?: string }).code ?? String(e);

describe.each([
  ["direct connections", () => direct],
  ["behind the pooler", () => pooled],
])("beginOnReserved, %s, as postgres.js's begin answers (an outside review's cases)", (_, client) => {
  it("a connection terminated during a statement: the transaction fails at once, nothing is kept, and the pool goes on answering", async () => {
    const c = client();
    const id = `lost-${Math.random().toString(36).slice(2)}`;
    const outcome = await Promise.race([
      c
        .begin(async (tx) => {
          await tx`insert into begin_tx values (${id}, 'before the connection is lost')`;
          const [me] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
          setTimeout(() => void sql`select pg_terminate_backend(${me!.pid})`.catch(() => undefined), 200);
          await tx`select pg_sleep(5)`;
          return "resolved";
        })
        .then(String, codeOf),
      sleep(4_000),
    ]);
    expect(["57P01", "CONNECTION_CLOSED"]).toContain(outcome);
    expect(await rows(id)).toEqual([]);
    // The lost connection is not handed to the next queries as it was (max 2: both connections serve them; given
    // back, it took a query onto its dead socket and never answered). postgres.js 3.4.9 answers the first query on the
    // reconnected connection with the old termination (57P01) once; every query is answered.
    const four = () =>
      Promise.race([
        Promise.allSettled(
          Array.from({ length: 4 }, (_, i) => c<{ n: number }[]>`select ${i}::int as n`.then((r) => r[0]!.n)),
        ),
        sleep(5_000),
      ]);
    const first = await four();
    expect(first).not.toBe("hung");
    const refused = (first as PromiseSettledResult<number>[]).filter((r) => r.status === "rejected");
    expect(refused.map((r) => codeOf((r as PromiseRejectedResult).reason))).toEqual(
      refused.length ? ["57P01"] : [],
    );
    const second = await four();
    expect(second).toEqual([0, 1, 2, 3].map((value) => ({ status: "fulfilled", value })));
    const again = await c.begin(async (tx) => (await tx<{ ok: string }[]>`select 'ok' as ok`)[0]!.ok);
    expect(again).toBe("ok");
  });

  it("a body failing with an error of its own that looks like a lost connection (a reset socket) still rolls back and gives its connection back", async () => {
    const c = client();
    const id = `reset-${Math.random().toString(36).slice(2)}`;
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    for (let i = 0; i < 3; i++)
      await expect(
        c.begin(async (tx) => {
          await tx`insert into begin_tx values (${`${id}-${i}`}, 'rolled back')`;
          throw reset;
        }),
      ).rejects.toBe(reset);
    expect(await rows(id)).toEqual([]);
    // Three transactions on a pool of two: each gave its connection back, none is left open on the server.
    const [open] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and state like 'idle in transaction%'`;
    expect(open!.n).toBe(0);
    expect(
      await Promise.race([c.begin(async (tx) => (await tx`select 1 as one`)[0]!.one), sleep(5_000)]),
    ).toBe(1);
  });

  it("a body that caught a failing statement and went on fails with that statement's error, not the refusal after it", async () => {
    const body = async (tx: typeof sql) => {
      const id = `caught-${Math.random().toString(36).slice(2)}`;
      await tx`insert into begin_tx values (${id}, 'first')`;
      await tx`insert into begin_tx values (${id}, 'duplicate')`.catch(() => "handled");
      await tx`select 1`;
    };
    await expect(reference.begin(body as never)).rejects.toMatchObject({ code: "23505" });
    await expect(client().begin(body as never)).rejects.toMatchObject({ code: "23505" });
  });

  it("a failing query started and never awaited fails the transaction with its error, never as an unhandled rejection", async () => {
    const id = `started-${Math.random().toString(36).slice(2)}`;
    const unhandled = await unhandledDuring(() =>
      expect(
        client().begin(async (tx) => {
          await tx`insert into begin_tx values (${id}, 'kept only if all goes well')`;
          tx`insert into begin_tx values (${id}, 'duplicate, never awaited')`.execute();
          await new Promise((r) => setTimeout(r, 200));
        }),
      ).rejects.toMatchObject({ code: "23505" }),
    );
    expect(unhandled).toEqual([]);
    expect(await rows(id)).toEqual([]);
  });

  // A second outside review's cases. Each on a client of its own: a lost backend makes postgres.js answer the first query
  // on its reconnected connection with the old termination once.
  const fresh = async <T>(max: number, use: (c: ReturnType<typeof createClient>) => Promise<T>) => {
    const c = createClient({ url, max, prepare: client() === direct });
    try {
      return await use(c);
    } finally {
      await c.end({ timeout: 1 });
    }
  };
  const terminateSoon = (tx: Tx, ms: number) =>
    tx<{ pid: number }[]>`select pg_backend_pid() as pid`.then(([me]) => {
      setTimeout(() => void sql`select pg_terminate_backend(${me!.pid})`.catch(() => undefined), ms);
    });

  it("a server ERROR that carries a termination's code (57P01) or a callback's error coded like a reset socket rolls back and gives the connection back", async () => {
    await sql`create or replace function raise_57p01() returns int language plpgsql as $$
              begin raise exception 'not a termination' using errcode = '57P01'; end $$`;
    await fresh(1, async (c) => {
      const id = `raised-${Math.random().toString(36).slice(2)}`;
      await expect(
        c.begin(async (tx) => {
          await tx`insert into begin_tx values (${id}, 'rolled back')`;
          await tx`select raise_57p01()`;
        }),
      ).rejects.toMatchObject({ code: "57P01", severity: "ERROR" });
      const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
      await expect(
        c.begin(async (tx) => {
          await tx`insert into begin_tx values (${`${id}-each`}, 'rolled back')`;
          await tx`select 1 as one`.forEach(() => {
            throw reset;
          });
        }),
      ).rejects.toBe(reset);
      expect(await rows(id)).toEqual([]);
      // A pool of one: its connection came back each time, and no transaction is left open on the server.
      expect(await Promise.race([c`select 'ok' as ok`.then((r) => r[0]!.ok), sleep(5_000)])).toBe("ok");
    });
  });

  it("a body that throws while its query runs, then loses its backend, fails at once", async () => {
    await fresh(2, async (c) => {
      const outcome = await Promise.race([
        c
          .begin(async (tx) => {
            await terminateSoon(tx, 300);
            await Promise.all([
              tx`select pg_sleep(1)`,
              new Promise((_, reject) => setTimeout(() => reject(new Error("the body's own")), 50)),
            ]);
          })
          .then(String, (e) => (e as Error).message),
        sleep(5_000),
      ]);
      expect(outcome).not.toBe("hung");
    });
  });

  it("a backend lost in a savepoint whose failure the body caught: no COMMIT, the transaction fails with the loss", async () => {
    await fresh(2, async (c) => {
      const outcome = await Promise.race([
        c
          .begin(async (tx) => {
            await terminateSoon(tx, 300);
            const t = tx as unknown as {
              savepoint: (f: (sp: typeof sql) => Promise<unknown>) => Promise<unknown>;
            };
            await t.savepoint(async (sp) => sp`select pg_sleep(1)`).catch(() => "skipped");
            return "committed";
          })
          .then(String, codeOf),
        sleep(5_000),
      ]);
      expect(["57P01", "CONNECTION_CLOSED"]).toContain(outcome);
    });
  });

  it("a failing forEach never awaited fails the transaction with its error, never as an unhandled rejection", async () => {
    const unhandled = await unhandledDuring(() =>
      expect(
        client().begin(async (tx) => {
          tx`select 1/0`.forEach(() => {});
          await new Promise((r) => setTimeout(r, 100));
          return "x";
        }),
      ).rejects.toMatchObject({ code: "22012" }),
    );
    expect(unhandled).toEqual([]);
  });

  it("a savepoint written as a tagged query runs in the transaction", async () => {
    const id = `tagged-${Math.random().toString(36).slice(2)}`;
    await client().begin(async (tx) => {
      const t = tx as unknown as {
        savepoint: (s: TemplateStringsArray, ...v: unknown[]) => Promise<unknown>;
      };
      await t.savepoint`insert into begin_tx values (${id}, 'in a savepoint')`;
    });
    expect(await rows(id)).toEqual([id]);
  });
});

describe("ending a client", () => {
  it("end() asked while a transaction runs lets it finish, then ends within its timeout (it waited for ever: the reserved connection never ended)", async () => {
    const c = createClient({ url, max: 2 });
    const id = `ending-${Math.random().toString(36).slice(2)}`;
    const running = signal();
    const tx = c.begin(async (t) => {
      const sleeping = t`select pg_sleep(0.3)`.execute();
      running.fire();
      await sleeping;
      await t`insert into begin_tx values (${id}, 'committed before the end')`;
    });
    // Asked once the transaction runs (on a loaded host its connection can take longer than any fixed wait).
    await running.promise;
    const ended = await Promise.race([c.end().then(() => "ended"), sleep(20_000)]);
    expect(ended).toBe("ended");
    await tx;
    expect(await rows(id)).toEqual([id]);
  });

  // 8,500 transactions of three round trips each: about 10 s on a quiet host, past 30 s on a loaded one (a fresh-clone
  // run beside the other stages).
  it("a client that never ends keeps nothing of the transactions it ran (each kept 5 KB, for good)", {
    timeout: 120_000,
  }, async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const c = createClient({ url, max: 2 });
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) await c.begin(async (t) => t`select 1`);
    };
    await run(500);
    gc();
    const before = process.memoryUsage().heapUsed;
    await run(8_000);
    gc();
    // 8,000 transactions kept about 23 MB before; what is left now is noise.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(5_000_000);
    await c.end();
  });

  it("a transaction still waiting for its connection when end() is asked fails at once, as a query would (it waited for ever)", async () => {
    const c = createClient({ url, max: 1 });
    const id = `never-${Math.random().toString(36).slice(2)}`;
    // The one connection held, so the next transaction waits for it. end() is asked only once the first holds it:
    // on a slow host its connection could still be opening 20 ms later, and it would fail in its turn.
    const holding = signal();
    const first = c.begin(async (t) => {
      holding.fire();
      await t`select pg_sleep(0.2)`;
    });
    await holding.promise;
    const waiting = c.begin(async (t) => {
      await t`insert into begin_tx values (${id}, 'never')`;
    });
    const outcome = waiting.then(
      () => "committed",
      (error: { code?: string }) => error.code,
    );
    await new Promise((r) => setTimeout(r, 20));
    const ended = Promise.race([c.end({ timeout: 2 }).then(() => "ended"), sleep(20_000)]);
    expect(await Promise.race([outcome, sleep(5_000).then(() => "still waiting")])).toBe("CONNECTION_ENDED");
    await expect(c.begin(async () => "later")).rejects.toMatchObject({ code: "CONNECTION_ENDED" });
    await first;
    expect(await ended).toBe("ended");
    expect(await rows(id)).toEqual([]);
  });
});
