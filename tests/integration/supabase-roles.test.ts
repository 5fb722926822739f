// Supabase's API roles (anon, authenticated) can read, write and call nothing of Tollgate's: proved on a
// database set up as Supabase sets one up (its roles and default grants) before our migrations run.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createClient, type Sql } from "@/lib/db/client";
import { migrate } from "@/lib/db/migrate";

const ROLES = ["anon", "authenticated"] as const;
let admin: Sql;
let sql: Sql;
let name: string;

beforeAll(async () => {
  admin = createClient({ url: inject("adminDatabaseUrl"), max: 1 });
  for (const role of ROLES) {
    const [exists] = await admin`select 1 from pg_roles where rolname = ${role}`;
    if (!exists) await admin`create role ${admin(role)} nologin`;
  }
  name = `tollgate_t_${randomBytes(6).toString("hex")}`;
  await admin`create database ${admin(name)}`;
  const url = new URL(inject("adminDatabaseUrl"));
  url.pathname = `/${name}`;
  sql = createClient({ url: url.toString(), max: 1 });
  // What Supabase does to every project's public schema before any migration of ours.
  await sql.unsafe(`
    grant usage on schema public to anon, authenticated;
    alter default privileges in schema public grant all on tables to anon, authenticated;
    alter default privileges in schema public grant all on sequences to anon, authenticated;
    alter default privileges in schema public grant all on functions to anon, authenticated;`);
  await migrate(sql);
});

afterAll(async () => {
  await sql?.end();
  await admin`drop database if exists ${admin(name)} with (force)`;
  await admin.end();
});

/** Runs fn as a Supabase API role (inside a transaction, so the role ends with it). */
async function as<T>(role: string, fn: (tx: Sql) => Promise<T>): Promise<T> {
  return (await sql.begin(async (tx) => {
    await tx`select set_config('role', ${role}, true)`;
    return fn(tx as unknown as Sql);
  })) as T;
}

async function sqlState(promise: Promise<unknown>): Promise<string | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? "unknown";
  }
}

describe("Supabase's anon and authenticated roles", () => {
  it("find row-level security on every table, schema_migrations included", async () => {
    const tables = await sql<{ relname: string; relrowsecurity: boolean }[]>`
      select relname, relrowsecurity from pg_class
      where relnamespace = 'public'::regnamespace and relkind in ('r', 'p') order by relname`;
    expect(tables.map((t) => t.relname)).toContain("schema_migrations");
    expect(tables.filter((t) => !t.relrowsecurity)).toEqual([]);
  });

  it.each(ROLES)("%s can read and write no table", async (role) => {
    const tables = await sql<{ relname: string }[]>`
      select relname from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')`;
    expect(tables.length).toBeGreaterThan(10);
    for (const { relname } of tables) {
      expect(await sqlState(as(role, (tx) => tx`select * from ${tx(relname)} limit 1`)), relname).toBe(
        "42501",
      );
      expect(await sqlState(as(role, (tx) => tx`delete from ${tx(relname)} where false`)), relname).toBe(
        "42501",
      );
    }
    expect(
      await sqlState(as(role, (tx) => tx`insert into accounts (kind, code) values ('system', 'mine')`)),
    ).toBe("42501");
  });

  it.each(ROLES)("%s can call none of our functions (no RPC into the money code)", async (role) => {
    const callable = await sql<{ proname: string }[]>`
      select proname from pg_proc
      where pronamespace = 'public'::regnamespace and has_function_privilege(${role}, oid, 'execute')`;
    expect(callable).toEqual([]);
    expect(
      await sqlState(
        as(role, (tx) => tx`select * from place_hold(gen_random_uuid(), 'c', 'n', 'm', 1, 1, 1, '{}')`),
      ),
    ).toBe("42501");
    expect(
      await sqlState(as(role, (tx) => tx`select * from settle_usage('[]'::jsonb, gen_random_uuid())`)),
    ).toBe("42501");
  });

  it("a table or function a later migration adds gets no grants to them either", async () => {
    await sql`create table public.t_later (id int)`;
    await sql`create function public.f_later() returns int language sql as 'select 1'`;
    try {
      expect(await sqlState(as("anon", (tx) => tx`select * from t_later`))).toBe("42501");
      const [row] = await sql<{ can: boolean }[]>`
        select has_function_privilege('anon', 'public.f_later()', 'execute') as can`;
      expect(row!.can).toBe(false);
    } finally {
      await sql`drop table public.t_later`;
      await sql`drop function public.f_later()`;
    }
  });
});
