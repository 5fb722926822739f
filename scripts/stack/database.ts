import path from "node:path";
import postgres from "postgres";
import { type RunningPostgres, startEmbeddedPostgres } from "@/lib/db/embedded";

export interface Database {
  url: string;
  embedded: RunningPostgres | null;
}

/** Uses DATABASE_URL when given; otherwise starts embedded PostgreSQL under .data/ and creates the database. */
export async function provideDatabase({
  url,
  dataDir,
  port,
  database,
  onLog,
}: {
  url?: string;
  dataDir: string;
  port: number;
  database: string;
  onLog?: (line: string) => void;
}): Promise<Database> {
  if (url) return { url, embedded: null };
  const embedded = await startEmbeddedPostgres({ dir: path.resolve(dataDir), port, onLog });
  await createDatabaseIfMissing(embedded.url(), database);
  return { url: embedded.url(database), embedded };
}

export async function createDatabaseIfMissing(adminUrl: string, database: string) {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [exists] = await sql`select 1 from pg_database where datname = ${database}`;
    if (!exists) {
      await sql`create database ${sql(database)}`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
