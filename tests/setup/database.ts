// Integration tests run on real PostgreSQL: TEST_DATABASE_URL when given, otherwise embedded PostgreSQL.
// One template database is migrated here; each test file clones it (tests/helpers/db.ts).
// The "pooled" project runs its files through PgBouncer in transaction mode (tests/setup/pgbouncer.ts), as
// production reaches Supabase's transaction pooler: its own embedded server and names, so it may run beside
// "integration".
import path from "node:path";
import type { TestProject } from "vitest/node";
import { createClient } from "@/lib/db/client";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { migrate } from "@/lib/db/migrate";
import { type RunningPgBouncer, startPgBouncer } from "./pgbouncer";

// TEST_DB_RUN names this run's databases, so two runs can share one server (e.g. TEST_DATABASE_URL) without
// dropping each other's template and clones.
const RUN = (process.env.TEST_DB_RUN ?? "").replace(/[^a-z0-9]/g, "");

declare module "vitest" {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
    clonePrefix: string;
    /** Set in the "pooled" project: clones are reached through PgBouncer at this URL (its path replaced). */
    pooledDatabaseUrl: string | undefined;
  }
}

export default async function setup(project: TestProject) {
  const pooled = project.name === "pooled";
  const run = pooled ? `${RUN}pooled` : RUN;
  const TEMPLATE = `tollgate_template${run}`;
  const CLONE_PREFIX = `tollgate_t${run}_`;
  let adminUrl = process.env.TEST_DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  if (!adminUrl) {
    const basePort = Number(process.env.TEST_PG_PORT ?? 25429);
    const pg = await startEmbeddedPostgres({
      dir: path.resolve(`.data/pg-test${run ? `-${run}` : ""}`),
      port: pooled ? Number(process.env.TEST_POOLED_PG_PORT ?? basePort + 1) : basePort,
      fast: true,
    });
    adminUrl = pg.url();
    stop = pg.stop;
  }
  const admin = createClient({ url: adminUrl, max: 1 });
  // Leftovers of an interrupted run are dropped so every run starts from the current migrations.
  const stale = await admin<{ datname: string }[]>`
    select datname from pg_database
    where starts_with(datname, ${CLONE_PREFIX}) or datname = ${TEMPLATE}`;
  for (const { datname } of stale) await admin`drop database if exists ${admin(datname)} with (force)`;
  await admin`create database ${admin(TEMPLATE)}`;
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${TEMPLATE}`;
  const template = createClient({ url: templateUrl.toString(), max: 1 });
  await migrate(template);
  await template.end();
  await admin.end();
  let bouncer: RunningPgBouncer | undefined;
  if (pooled) {
    bouncer = await startPgBouncer({
      upstreamUrl: adminUrl,
      port: Number(process.env.TEST_PGBOUNCER_PORT ?? Number(process.env.TEST_PG_PORT ?? 25429) + 10),
      poolSize: 3,
    });
  }
  project.provide("adminDatabaseUrl", adminUrl);
  project.provide("templateDatabase", TEMPLATE);
  project.provide("clonePrefix", CLONE_PREFIX);
  project.provide("pooledDatabaseUrl", bouncer?.url("postgres"));
  return async () => {
    await bouncer?.stop();
    const cleanup = createClient({ url: adminUrl, max: 1 });
    await cleanup`drop database if exists ${cleanup(TEMPLATE)} with (force)`;
    await cleanup.end();
    await stop?.();
  };
}
