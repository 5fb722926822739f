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
  prepare?: boolean;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
}

/** Builds a postgres.js client with Tollgate's conventions: bigint as JS bigint, quiet notices, UTC. */
export function createClient({
  url,
  max = 10,
  prepare = true,
  applicationName = "tollgate",
}: ClientOptions): Sql {
  return postgres(url, {
    max,
    prepare,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: applicationName, TimeZone: "UTC" },
    types: {
      // Money columns are bigint micro-USD: keep them exact as bigint, never as float.
      bigint: postgres.BigInt,
    },
  });
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
