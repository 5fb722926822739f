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
  await sql.unsafe(
    `create unique index if not exists ${name}_call_key_idx on public.${name} (call_key(call_id), key_id)`,
  );
  return name;
}
