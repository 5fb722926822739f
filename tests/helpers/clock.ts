// Time in tests (STYLE.md, Tests): a test that stands at simulated moments takes them, and the fixtures they need,
// from one simulated clock, never from the wall clock, so the suite passes on any date. A test whose premise is one
// UTC day of the real clock (day budgets, a lease's full TTL, a route's "today") waits out a midnight about to fall.
import type { Db, Sql } from "@/lib/db/client";
import { PRICE, seedPrice, seedPricedModel } from "./billing";

const DAY_MS = 86_400_000;

export interface SimulatedClock {
  /** The earliest moment the test stands at. */
  start: Date;
  /** When the fixtures of the simulated moments are in force from: a day before the start. */
  since: Date;
  /** The moment `ms` after the start, as an ISO string. */
  after(ms: number): string;
  /** Runs `fn` in a transaction standing at `moment` (tollgate_now(), supabase/schemas/05.tollgate_now.sql). */
  at<T>(moment: string, fn: (db: Db) => Promise<T>): Promise<T>;
  /** A model priced from `since` (seedPricedModel), so every simulated moment has its price. */
  seedPricedModel(
    name?: string,
    price?: typeof PRICE,
    maxOutput?: number,
  ): ReturnType<typeof seedPricedModel>;
  /** Another price version of a model, in force from `since`: beside the one the real-clock tests use. */
  seedPrice(modelId: string, price?: typeof PRICE): Promise<string>;
}

/** A clock whose moments start at `start` (UTC, e.g. "2026-11-24T00:00:00Z"); moments before it are refused. */
export function simulatedClock(sql: Sql, start: string): SimulatedClock {
  const startMs = Date.parse(start);
  if (!/(Z|[+-]\d\d:\d\d)$/.test(start) || Number.isNaN(startMs))
    throw new Error(`simulatedClock: ${start} is not a UTC moment`);
  const since = new Date(startMs - DAY_MS);
  return {
    start: new Date(startMs),
    since,
    after: (ms) => new Date(startMs + ms).toISOString(),
    async at<T>(moment: string, fn: (db: Db) => Promise<T>): Promise<T> {
      const ms = Date.parse(moment);
      if (Number.isNaN(ms) || ms < startMs)
        throw new Error(
          `simulatedClock: ${moment} is before the clock's start ${start}: nothing is seeded there`,
        );
      return (await sql.begin(async (tx) => {
        await tx`select set_config('tollgate.now', ${new Date(ms).toISOString()}, true)`;
        return fn(tx);
      })) as T;
    },
    seedPricedModel: (name, price, maxOutput) =>
      seedPricedModel(sql, name, price, maxOutput, { effectiveFrom: since }),
    seedPrice: (modelId, price = PRICE) => seedPrice(sql, modelId, price, since),
  };
}

/**
 * For a test whose premise is one UTC day of the real clock: when a UTC midnight falls within `seconds` from now,
 * by this process's clock or the database's, waits until it has passed. Tests about midnight use simulatedClock.
 */
export async function clearOfMidnight(sql: Sql, seconds: number): Promise<void> {
  const [row] = await sql<
    { ms: number }[]
  >`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`;
  const untilMidnight = (ms: number) => DAY_MS - (ms % DAY_MS);
  const waits = [Date.now(), row!.ms].map(untilMidnight).filter((ms) => ms <= seconds * 1000);
  if (waits.length) await new Promise((resolve) => setTimeout(resolve, Math.max(...waits) + 100));
}
