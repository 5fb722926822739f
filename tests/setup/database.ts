// Integration tests run on real PostgreSQL: TEST_DATABASE_URL when given, otherwise embedded PostgreSQL.
// One template database is migrated here; each test file clones it (tests/helpers/db.ts).
import path from "node:path";
import type { TestProject } from "vitest/node";
import { createClient } from "@/lib/db/client";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { migrate } from "@/lib/db/migrate";

export const TEMPLATE = "tollgate_template";

declare module "vitest" {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject) {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  if (!adminUrl) {
    const pg = await startEmbeddedPostgres({
      dir: path.resolve(".data/pg-test"),
      port: Number(process.env.TEST_PG_PORT ?? 25429),
      fast: true,
    });
    adminUrl = pg.url();
    stop = pg.stop;
  }
  const admin = createClient({ url: adminUrl, max: 1 });
  // Leftovers of an interrupted run are dropped so every run starts from the current migrations.
  const stale = await admin<{ datname: string }[]>`
    select datname from pg_database where datname like 'tollgate\\_t\\_%' or datname = ${TEMPLATE}`;
  for (const { datname } of stale) await admin`drop database if exists ${admin(datname)} with (force)`;
  await admin`create database ${admin(TEMPLATE)}`;
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${TEMPLATE}`;
  const template = createClient({ url: templateUrl.toString(), max: 1 });
  await migrate(template);
  await template.end();
  await admin.end();
  project.provide("adminDatabaseUrl", adminUrl);
  project.provide("templateDatabase", TEMPLATE);
  return async () => {
    const cleanup = createClient({ url: adminUrl, max: 1 });
    await cleanup`drop database if exists ${cleanup(TEMPLATE)} with (force)`;
    await cleanup.end();
    await stop?.();
  };
}
