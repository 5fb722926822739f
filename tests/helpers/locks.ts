import type { Sql } from "@/lib/db/client";

/**
 * Resolves once sessions wait for locks: at least `atLeast` waiting (default 1), on `relation` (of `mode`) if given,
 * else on any lock. A test waits for the state it means to interrupt, not for a fixed time: on a loaded machine the
 * steps before it take longer. Bounded (10 s).
 */
export async function untilLockWaited(
  sql: Sql,
  { relation, mode, atLeast = 1 }: { relation?: string; mode?: string; atLeast?: number } = {},
): Promise<void> {
  const giveUpAt = Date.now() + 10_000;
  for (;;) {
    const [w] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_locks l left join pg_class c on c.oid = l.relation
      where not l.granted ${relation ? sql`and c.relname = ${relation}` : sql``}
        ${mode ? sql`and l.mode = ${mode}` : sql``}`;
    if (w!.n >= atLeast) return;
    if (Date.now() > giveUpAt)
      throw new Error(`fewer than ${atLeast} lock waits${relation ? ` on ${relation}` : ""} within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
