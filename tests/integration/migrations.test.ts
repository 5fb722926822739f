import { cp, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Sql } from "@/lib/db/client";
import { contractFunctions } from "@/lib/db/contract-sql";
import { type FunctionSource, functionMigration, loadFunctionSources } from "@/lib/db/functions";
import { EditedMigrationError, MIGRATIONS_DIR, migrate } from "@/lib/db/migrate";
import { createTestDatabase } from "../helpers/db";

const { sql } = await createTestDatabase();

/** Tables without row-level security and functions PUBLIC may execute (Supabase's API roles reach both). */
async function openToApiRoles(db: Sql, schema = "public") {
  const tables = await db<{ relname: string }[]>`
    select relname from pg_class
    where relnamespace = ${schema}::regnamespace and relkind in ('r', 'p') and not relrowsecurity
      and relname not like 't\\_good' and relname not like 't\\_bad'
    order by relname`;
  const functions = await db<{ proname: string }[]>`
    select p.proname from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.pronamespace = ${schema}::regnamespace and a.grantee = 0 and a.privilege_type = 'EXECUTE'
    order by p.proname`;
  return { tables: tables.map((t) => t.relname), functions: functions.map((f) => f.proname) };
}

/**
 * Where the migrated database and the function sources disagree: each source is applied in a transaction
 * that is rolled back, and PostgreSQL's own rendering (pg_get_functiondef) before and after is compared, so
 * formatting never matters and any change to a signature, an attribute or a body does.
 */
async function functionDrift(db: Sql, sources: FunctionSource[]): Promise<string[]> {
  const definitions = (tx: Sql) =>
    tx<{ name: string; def: string }[]>`
      select p.proname as name, pg_get_functiondef(p.oid) as def from pg_proc p
      where p.pronamespace = 'public'::regnamespace order by p.oid`;
  const ROLLBACK = new Error("rollback");
  let drift: string[] = [];
  await db
    .begin(async (tx) => {
      const before = await definitions(tx as unknown as Sql);
      for (const source of sources) await tx.unsafe(source.sql);
      const after = await definitions(tx as unknown as Sql);
      const key = (r: { name: string; def: string }) => `${r.name}\u0000${r.def}`;
      const old = new Set(before.map(key));
      drift = [
        ...new Set(after.filter((r) => !old.has(key(r))).map((r) => r.name)),
        ...before.map((r) => r.name).filter((name) => !sources.some((s) => s.name === name)),
      ];
      throw ROLLBACK;
    })
    .catch((error) => {
      if (error !== ROLLBACK) throw error;
    });
  return drift;
}

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

  it("leave no table without row-level security and no function executable by PUBLIC", async () => {
    expect(await openToApiRoles(sql)).toEqual({ tables: [], functions: [] });
    // The check itself catches a migration that forgets either (a fixture, applied to a throwaway schema).
    await sql.begin(async (tx) => {
      await tx`create schema fixture`;
      await tx`create table fixture.t_open (id int)`;
      await tx`create function fixture.f_open() returns int language sql as 'select 1'`;
      await tx`grant execute on function fixture.f_open() to public`;
      expect(await openToApiRoles(tx as unknown as Sql, "fixture")).toEqual({
        tables: ["t_open"],
        functions: ["f_open"],
      });
      await tx`drop schema fixture cascade`;
    });
  });

  it("define every SQL function exactly as its source file in supabase/schemas/ says", async () => {
    // The functions generated from the contract (lib/db/contract-sql.ts) first, as the generated migration has them.
    const sources = [
      ...contractFunctions().map((f) => ({ ...f, file: "lib/billing/contract.json" })),
      ...loadFunctionSources(),
    ];
    expect(sources.map((s) => s.name)).toEqual(
      expect.arrayContaining(["place_hold", "settle_usage", "price_units"]),
    );
    expect(await functionDrift(sql, sources)).toEqual([]);
    // The check fails when a source and the migrations disagree (a fixture: one changed rounding constant).
    const edited = sources.map((s) =>
      s.name === "price_units" ? { ...s, sql: s.sql.replace("+ 999999", "+ 999998") } : s,
    );
    expect(edited.find((s) => s.name === "price_units")!.sql).not.toBe(
      sources.find((s) => s.name === "price_units")!.sql,
    );
    expect(await functionDrift(sql, edited)).toEqual(["price_units"]);
  });

  it("generate a function migration from the sources, so a change is one source diff", () => {
    const { file, sql: text } = functionMigration(["settle_usage", "place_hold"], {
      now: new Date("2026-11-24T12:34:56Z"),
    });
    expect(file).toBe("20261124123456_functions_place_hold_settle_usage.sql");
    const sources = loadFunctionSources();
    for (const name of ["place_hold", "settle_usage"])
      expect(text).toContain(sources.find((s) => s.name === name)!.sql.trimEnd());
    expect(() => functionMigration(["no_such_function"])).toThrow(/no source/);
  });

  it("name their constraints and indexes", async () => {
    const unnamed = await sql`
      select conname from pg_constraint c join pg_namespace n on n.oid = c.connamespace
      where n.nspname = 'public' and conname ~ '_[0-9]+$'`;
    expect(unnamed).toEqual([]);
  });
});
