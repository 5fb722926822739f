import "server-only";
import { config } from "@/lib/config";
import { createClient, type Sql } from "./client";

export { type Db, inTransaction, type Sql, type Tx } from "./client";

const globalForDb = globalThis as unknown as { tollgateSql?: Sql };

/** The one postgres.js pool of the control plane, created on first use (kept across hot reloads in dev). */
export function db(): Sql {
  if (!globalForDb.tollgateSql) {
    const cfg = config();
    globalForDb.tollgateSql = createClient({
      url: cfg.DATABASE_URL,
      max: cfg.DATABASE_POOL_MAX,
      prepare: cfg.DATABASE_PREPARE,
    });
  }
  return globalForDb.tollgateSql;
}
