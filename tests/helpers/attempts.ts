import type { Sql } from "@/lib/db/client";

/**
 * Guesses (sign-in, redemption codes) are counted in fixed windows of the database's clock: a test whose attempts
 * must share one window starts it with at least 30 s to spare (waiting for the next window if need be), whatever
 * the time of day.
 */
export async function awayFromWindowEdge(sql: Sql, windowSeconds: number) {
  const [row] = await sql<{ left: number }[]>`
    select ${windowSeconds} - mod(extract(epoch from now())::numeric, ${windowSeconds}) as left`;
  const left = Number(row!.left);
  if (left < 30) await new Promise((resolve) => setTimeout(resolve, left * 1000 + 100));
}
