import type { Sql } from "@/lib/db/client";

/**
 * A daily partition of usage_events for the UTC day ([D, D+1)) with its call key index, as the partition job makes
 * them (ensure_usage_partitions; docs/adr/0032): for tests that need a day's partition without the job's days ahead.
 * Returns its name.
 */
export async function dayPartition(sql: Sql, day: string): Promise<string> {
  const name = `usage_events_p${day.replaceAll("-", "")}`;
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString();
  // DDL takes no parameters: the bounds are ISO moments made here from a YYYY-MM-DD day.
  await sql.unsafe(
    `create table if not exists public.${name} partition of usage_events for values from ('${day}T00:00:00Z') to ('${next}')`,
  );
  await sql`
    select make_call_key_index(${name}) where not has_call_key_index(to_regclass(${`public.${name}`})::oid)`;
  return name;
}
