import { randomBytes } from "node:crypto";
import { afterAll, inject } from "vitest";
import { createClient, type Sql } from "@/lib/db/client";

export interface TestDatabase {
  sql: Sql;
  url: string;
  /** What a test's own clients of url pass as createClient's prepare: false through the pooler ("pooled" project). */
  prepare: boolean;
}

/**
 * A fresh database for this test file, cloned from the migrated template (fast and isolated). It also
 * points the app's own db() at it, so route handlers called in the test use the same database. In the "pooled"
 * project both reach it through PgBouncer in transaction mode, without prepared statements (DATABASE_PREPARE=false,
 * set by the project), as production reaches Supabase's transaction pooler; creating and dropping it stays direct.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject("adminDatabaseUrl");
  const template = inject("templateDatabase");
  const name = `${inject("clonePrefix")}${randomBytes(6).toString("hex")}`;
  const admin = createClient({ url: adminUrl, max: 1 });
  await admin`create database ${admin(name)} template ${admin(template)}`;
  const pooledUrl = inject("pooledDatabaseUrl");
  const url = new URL(pooledUrl ?? adminUrl);
  url.pathname = `/${name}`;
  const sql = createClient({ url: url.toString(), max: 5, prepare: !pooledUrl });
  process.env.DATABASE_URL = url.toString();
  afterAll(async () => {
    await sql.end();
    const g = globalThis as { tollgateSql?: Sql };
    await g.tollgateSql?.end();
    g.tollgateSql = undefined;
    await admin`drop database if exists ${admin(name)} with (force)`;
    await admin.end();
  });
  return { sql, url: url.toString(), prepare: !pooledUrl };
}
