import { cp, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EditedMigrationError, MIGRATIONS_DIR, migrate } from "@/lib/db/migrate";
import { createTestDatabase } from "../helpers/db";

const { sql } = await createTestDatabase();

describe("migrations", () => {
  it("are recorded with checksums and a second run applies nothing", async () => {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".sql"));
    const rows = await sql`select version, checksum from schema_migrations order by version`;
    expect(rows).toHaveLength(files.length);
    expect(await migrate(sql)).toEqual([]);
  });

  it("refuse to run when an applied migration was edited", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tollgate-migrations-"));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    const first = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort()[0]!;
    await writeFile(path.join(dir, first), `${await readFile(path.join(dir, first), "utf8")}\n-- edited\n`);
    await expect(migrate(sql, { dir })).rejects.toBeInstanceOf(EditedMigrationError);
  });

  it("apply a new migration in its own transaction and roll back a failing one whole", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tollgate-migrations-"));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await writeFile(path.join(dir, "29990101000000_good.sql"), "create table t_good (id int);");
    await writeFile(path.join(dir, "29990101000001_bad.sql"), "create table t_bad (id int); select 1/0;");
    await expect(migrate(sql, { dir })).rejects.toThrow(/division by zero/);
    const [good] = await sql`select to_regclass('t_good') as t`;
    const [bad] = await sql`select to_regclass('t_bad') as t`;
    expect(good!.t).toBe("t_good");
    expect(bad!.t).toBeNull();
    const versions = (await sql`select version from schema_migrations`).map((r) => r.version);
    expect(versions).toContain("29990101000000");
    expect(versions).not.toContain("29990101000001");
  });

  it("name their constraints and indexes", async () => {
    const unnamed = await sql`
      select conname from pg_constraint c join pg_namespace n on n.oid = c.connamespace
      where n.nspname = 'public' and conname ~ '_[0-9]+$'`;
    expect(unnamed).toEqual([]);
  });
});
