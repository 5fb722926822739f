import "server-only";
import postgres from "postgres";

// bigint columns come back as JS bigint and bigint parameters are accepted (money is bigint micro-USD).
type Types = { bigint: bigint };
export type Sql = postgres.Sql<Types>;
export type Tx = postgres.TransactionSql<Types>;
/** A connection pool or an open transaction: domain verbs take either, so callers decide the transaction scope. */
export type Db = Sql | Tx;

export interface ClientOptions {
  url: string;
  max?: number;
  /**
   * false behind a transaction pooler (Supabase's port 6543, PgBouncer's pool_mode=transaction): no named prepared
   * statements (a statement prepared on one server connection is gone on the next). docs/adr/0023. No client
   * pipelines (docs/adr/0041).
   */
  prepare?: boolean;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
}

/** How long a client's end() waits for running queries before it closes their connections. */
const END_TIMEOUT_SECONDS = 10;

/** Builds a postgres.js client with Tollgate's conventions: bigint as JS bigint, quiet notices, UTC. */
export function createClient({
  url,
  max = 10,
  prepare = true,
  applicationName = "tollgate",
}: ClientOptions): Sql {
  const sql: Sql = postgres(url, {
    max,
    prepare,
    // No pipelining (docs/adr/0041): postgres.js would write a query onto a busy connection when none is idle, and
    // a query written behind a statement waiting on a row lock (a hold waiting for its key's row while a batch settles
    // it) waits as long as that lock is held, for an unrelated request. A query waits for a connection of its own.
    // Behind a transaction pooler its reply could also never come (docs/adr/0023).
    ...({ max_pipeline: 0 } as object),
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: applicationName, TimeZone: "UTC" },
    types: {
      // Money columns are bigint micro-USD: keep them exact as bigint, never as float.
      bigint: postgres.BigInt,
    },
  });
  const ending = clientEnding();
  sql.begin = beginOnReserved(sql, ending) as Sql["begin"];
  // end() waits for running queries at most END_TIMEOUT_SECONDS unless told otherwise: a transaction's reserved
  // connection never ends on its own (docs/adr/0041), so an end() asked while one runs would wait for ever.
  const end = sql.end.bind(sql);
  sql.end = ((options?: { timeout?: number }) => {
    ending.end();
    return end(options ?? { timeout: END_TIMEOUT_SECONDS });
  }) as Sql["end"];
  return sql;
}

/**
 * Whether a client's end() was asked, and who to tell when it is: the transactions waiting for a connection. Each
 * waiter leaves the set as soon as its connection comes (a promise living as long as the client would instead keep a
 * callback, and the connection it closed over, for every transaction ever run: an outside review measured 5 KB each).
 */
interface Ending {
  asked: boolean;
  waiters: Set<() => void>;
  end(): void;
}

function clientEnding(): Ending {
  const ending: Ending = {
    asked: false,
    waiters: new Set(),
    end() {
      ending.asked = true;
      for (const wake of ending.waiters) wake();
      ending.waiters.clear();
    },
  };
  return ending;
}

/** postgres.js's answer to a query asked of a client that is ending (its own error's code and message). */
function connectionEnded(sql: Sql): Error {
  const { host, port } = sql.options as { host?: string[]; port?: number[] };
  return Object.assign(new Error(`write CONNECTION_ENDED ${host?.[0] ?? ""}:${port?.[0] ?? ""}`), {
    code: "CONNECTION_ENDED",
  });
}

type TxBody = (tx: Tx) => unknown;
/** What a transaction or a savepoint saw fail first. */
type Failed = { error?: unknown; seen: boolean };

/** The socket errors that end a connection (a reset, a broken pipe, a timed-out or unreachable peer, TLS). */
const SOCKET_GONE =
  /^(ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNABORTED|ERR_SSL_\w+|ERR_TLS_\w+)$/;

/**
 * Whether an error of a transaction's own statement says its connection is gone: postgres.js's own (the socket closed,
 * was destroyed or ended), a socket's (a system call's error), or the server's FATAL (a terminated backend, a shutdown:
 * the session is over). A server ERROR is never one, whatever its code (a function may raise 57P01 as an ERROR).
 */
function connectionLost(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  const { code, severity, syscall } = error as { code?: unknown; severity?: unknown; syscall?: unknown };
  if (typeof code !== "string") return false;
  if (/^CONNECTION_(CLOSED|DESTROYED|ENDED)$/.test(code)) return true;
  if (error instanceof postgres.PostgresError) return severity === "FATAL";
  return SOCKET_GONE.test(code) && (typeof syscall === "string" || code.startsWith("ERR_"));
}

/**
 * A connection of the pool for a transaction, unless the client's end() is asked first: postgres.js never hands a
 * connection to a reserve() queued before an end() (the transaction would wait for ever), so it then fails as a query
 * would (CONNECTION_ENDED), and a connection handed over anyway goes straight back.
 */
async function reserveUnlessEnding(sql: Sql, ending: Ending) {
  if (ending.asked) throw connectionEnded(sql);
  const reserving = sql.reserve();
  let wake = () => {};
  const woken = new Promise<null>((resolve) => {
    wake = () => resolve(null);
  });
  ending.waiters.add(wake);
  const handed = await Promise.race([reserving, woken]).finally(() => ending.waiters.delete(wake));
  if (handed !== null) return handed;
  reserving.then(
    (connection) => connection.release(),
    () => undefined,
  );
  throw connectionEnded(sql);
}

/**
 * sql.begin for a client that does not pipeline (max_pipeline 0, every client: docs/adr/0041): postgres.js 3.4 reserves a
 * transaction's connection only when the BEGIN it wrote may be followed by more (porsager/postgres#1210), so with
 * max_pipeline 0 every begin fails with UNSAFE_TRANSACTION. This one reserves a connection first (sql.reserve), then
 * runs BEGIN, the body and COMMIT (or ROLLBACK) on it, with savepoints as postgres.js names them; the connection goes
 * back to the pool after. It keeps postgres.js's own begin's rules:
 * - a query of the transaction (or savepoint) that failed fails it, even when the body caught that error (else a COMMIT
 *   of the aborted transaction would quietly roll back and resolve), with that query's error;
 * - a query started and never awaited (`.execute()`, `.forEach()`) is watched too: its failure fails the transaction,
 *   never an unhandled rejection;
 * - a savepoint may be a tagged query (tx.savepoint`...`).
 * Before ROLLBACK, ROLLBACK TO or COMMIT it waits for every query the transaction started: on a connection that runs
 * one query at a time they would be queued behind one still running, and lost with it if the connection goes.
 * A transaction whose connection was lost (one of its own statements failed with connectionLost) runs no more
 * statements (a query asked after fails at once), sends no ROLLBACK and does not give the connection back: postgres.js
 * has already moved it to its closed connections, which it reconnects when needed; given back, the dead connection
 * would be handed to the next query (outside reviews reproduced each of these hangs).
 */
function beginOnReserved(sql: Sql, ending: Ending) {
  return async (optionsOrFn: string | TxBody, maybeFn?: TxBody): Promise<unknown> => {
    const options = typeof optionsOrFn === "string" ? optionsOrFn : "";
    const fn = (typeof optionsOrFn === "function" ? optionsOrFn : maybeFn)!;
    const reserved = await reserveUnlessEnding(sql, ending);
    let savepoints = 0;
    // Only the transaction's own statements tell that its connection is lost: an error the body throws for another
    // reason must not keep the connection from its ROLLBACK and the pool.
    let lost: { error: unknown } | null = null;
    const noteLost = (error: unknown) => {
      if (!lost && connectionLost(error)) lost = { error };
    };
    // The queries the transaction started that have not settled yet (each leaves when it settles, so a long
    // transaction keeps no finished query's rows): waited for before the transaction's end.
    const started = new Set<Promise<unknown>>();
    const settle = async () => {
      while (started.size) await Promise.allSettled([...started]);
    };
    const own = <T>(query: PromiseLike<T>): Promise<T> =>
      Promise.resolve(query).catch((error: unknown) => {
        noteLost(error);
        throw error;
      });
    const note = (failed: Failed, error: unknown) => {
      noteLost(error);
      if (!failed.seen) Object.assign(failed, { error, seen: true });
    };
    // A query is watched when it runs (awaited, or started with execute or forEach), not when built: a fragment nested
    // in another query never runs alone.
    const watch = <Q extends PromiseLike<unknown>>(query: Q, failed: Failed): Q => {
      const then = query.then.bind(query);
      let tracked = false;
      const track = () => {
        if (tracked) return;
        tracked = true;
        const running = query as unknown as Promise<unknown>;
        started.add(running);
        then(
          () => started.delete(running),
          (error: unknown) => {
            started.delete(running);
            note(failed, error);
          },
        );
      };
      // biome-ignore lint/suspicious/noThenProperty: the query stays the thenable it is; only its failure is noted.
      Object.defineProperty(query, "then", {
        // track's handler is registered first, so the failure is noted before the caller's own handler runs.
        value: (ok?: (v: unknown) => unknown, ko?: (e: unknown) => unknown) => {
          track();
          return then(ok, ko);
        },
      });
      for (const method of ["execute", "forEach"] as const) {
        const q = query as unknown as Record<string, unknown>;
        const original = q[method];
        if (typeof original !== "function") continue;
        Object.defineProperty(query, method, {
          value: (...args: unknown[]) => {
            const out = (original as (...a: unknown[]) => unknown).apply(query, args);
            track();
            return out;
          },
        });
      }
      return query;
    };
    const refuseWhenLost = () => {
      if (lost) throw lost.error;
    };
    // tx.unsafe and tx.file: refused once the connection is lost, watched as any query.
    const guarded =
      <A extends unknown[]>(make: (...args: A) => PromiseLike<unknown>, failed: Failed) =>
      (...args: A) => {
        refuseWhenLost();
        return watch(make(...args), failed);
      };
    const scoped = (failed: Failed): Tx =>
      new Proxy(reserved, {
        apply(target, thisArg, args) {
          const tagged = Array.isArray(args[0]) && "raw" in (args[0] as object);
          if (tagged) refuseWhenLost();
          const out = Reflect.apply(target, thisArg, args);
          return tagged ? watch(out as PromiseLike<unknown>, failed) : out;
        },
        get(target, prop, receiver) {
          if (prop === "savepoint") return savepoint;
          if (prop === "unsafe") return guarded(target.unsafe.bind(target), failed);
          // A query read from a file fails the transaction as any other.
          if (prop === "file") return guarded(target.file.bind(target), failed);
          return Reflect.get(target, prop, receiver);
        },
      }) as unknown as Tx;
    const run = async (body: TxBody, failed: Failed): Promise<unknown> => {
      try {
        const x = body(scoped(failed));
        const result = await (Array.isArray(x) ? Promise.all(x) : x);
        if (failed.seen) throw failed.error;
        return result;
      } catch (error) {
        // A body that caught a failure and went on sees its next query refused (25P02): the first failure is the
        // transaction's error, as postgres.js reports it.
        const code = (error as { code?: unknown } | null)?.code;
        throw code === "25P02" && failed.seen ? failed.error : error;
      }
    };
    async function savepoint(nameOrFn: string | TemplateStringsArray | TxBody, ...rest: unknown[]) {
      if (Array.isArray(nameOrFn) && "raw" in (nameOrFn as object)) {
        const strings = nameOrFn as TemplateStringsArray;
        return savepoint((sp) => (sp as unknown as Sql)(strings, ...(rest as never[])));
      }
      refuseWhenLost();
      const body = (typeof nameOrFn === "function" ? nameOrFn : rest[0]) as TxBody;
      const name = `s${savepoints++}${typeof nameOrFn === "string" ? `_${nameOrFn}` : ""}`;
      await settle();
      await own(reserved`savepoint ${reserved(name)}`);
      try {
        return await run(body, { seen: false });
      } catch (error) {
        await settle();
        if (!lost) await own(reserved`rollback to ${reserved(name)}`);
        throw error;
      }
    }
    const outer: Failed = { seen: false };
    try {
      await own(reserved.unsafe(`begin ${options.replace(/[^a-z ]/gi, "")}`));
      let result: unknown;
      try {
        result = await run(fn, outer);
        await settle();
        // A query that failed after the body returned (started, never awaited), or a connection lost in a savepoint
        // whose failure the body caught: no COMMIT.
        if (outer.seen) throw outer.error;
        refuseWhenLost();
      } catch (error) {
        await settle();
        // A connection that broke meanwhile is closed by postgres.js: the body's error is the one to report.
        if (!lost) await own(reserved`rollback`).catch(() => undefined);
        throw error;
      }
      // PostgreSQL answers a COMMIT of an aborted transaction with ROLLBACK, not an error.
      const done = await own(reserved`commit`);
      if (done.command !== "COMMIT") {
        if (outer.seen) throw outer.error;
        throw new Error(`the transaction ended with ${done.command}, not COMMIT`);
      }
      return result;
    } finally {
      if (!lost) reserved.release();
    }
  };
}

/** The platform's clock (tollgate_now(): the database's now, or the moment a test's transaction stands at). */
export async function platformNow(db: Db): Promise<Date> {
  const [row] = await db<{ now: Date }[]>`select tollgate_now() as now`;
  return row!.now;
}

/** Runs fn in a transaction, or in a savepoint when db already is one. */
export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if ("begin" in db) return (await db.begin((tx) => fn(tx))) as T;
  return (await db.savepoint((tx) => fn(tx))) as T;
}

/** An ILIKE pattern matching `text` anywhere, its own % _ \\ taken literally; null when there is nothing to search. */
export function containsPattern(text: string | undefined | null): string | null {
  return text ? `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
}
