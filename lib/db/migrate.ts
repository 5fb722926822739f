import "server-only";
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Sql } from "./client";

export interface Migration {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

export const MIGRATIONS_DIR = path.join(process.cwd(), "supabase", "migrations");

/** Reads supabase/migrations/<version>_<name>.sql in version order. */
export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  return Promise.all(
    files.map(async (file) => {
      const match = /^(\d+)_(.+)\.sql$/.exec(file);
      if (!match) throw new Error(`Migration file name must be <version>_<name>.sql: ${file}`);
      const sql = await readFile(path.join(dir, file), "utf8");
      return {
        version: match[1]!,
        name: match[2]!,
        sql,
        checksum: createHash("sha256").update(sql).digest("hex"),
      };
    }),
  );
}

export class EditedMigrationError extends Error {
  constructor(version: string, name: string) {
    super(
      `Migration ${version}_${name} was edited after it was applied. Migrations are never edited: add a new one.`,
    );
    this.name = "EditedMigrationError";
  }
}

/**
 * Applies pending migrations in order, each in its own transaction, recording version and checksum.
 * An applied migration whose file has changed since is refused: migrations are never edited.
 */
export async function migrate(
  sql: Sql,
  { dir = MIGRATIONS_DIR, log = (_line: string) => {} }: { dir?: string; log?: (line: string) => void } = {},
): Promise<string[]> {
  const migrations = await loadMigrations(dir);
  await sql`
    create table if not exists public.schema_migrations (
      version text primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`;
  // Like every table: closed to Supabase's API roles (docs/adr/0006-supabase-roles-get-nothing.md).
  await sql`alter table public.schema_migrations enable row level security`;
  const applied: string[] = [];
  for (const m of migrations) {
    // Each migration in its own transaction; the transaction-scoped lock makes concurrent runners take turns.
    const ran = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext('tollgate.schema_migrations'))`;
      const [done] = await tx<{ checksum: string }[]>`
        select checksum from public.schema_migrations where version = ${m.version}`;
      if (done) {
        if (done.checksum !== m.checksum) throw new EditedMigrationError(m.version, m.name);
        return false;
      }
      await tx.unsafe(m.sql);
      await tx`insert into public.schema_migrations (version, name, checksum)
               values (${m.version}, ${m.name}, ${m.checksum})`;
      return true;
    });
    if (ran) {
      applied.push(`${m.version}_${m.name}`);
      log(`applied ${m.version}_${m.name}`);
    }
  }
  return applied;
}
