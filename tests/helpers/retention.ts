// What the retention tests share: a clock in 2027 with the platform's shortest detail (7 days), the partitions made
// ahead of the real clock settled (so they verify and leave), daily partitions made as the partition job makes them,
// funded customers, and a day's settlement as its queue jobs run it (one chunk over every account, then the finalize).
import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { UsageEvent } from "@/lib/billing/schemas";
import type { Sql } from "@/lib/db/client";
import { runRetention } from "@/lib/retention/run";
import { finalizeRun, runChunk } from "@/lib/settlement/run";
import { accountOf, insertKey, topUp } from "./billing";
import { type SimulatedClock, simulatedClock } from "./clock";
import { createTestDatabase } from "./db";
import { dayPartition } from "./partitions";
import { insertUser } from "./users";

export const ALL_ACCOUNTS = {
  fromAccount: "00000000-0000-0000-0000-000000000000",
  toAccount: "ffffffff-ffff-ffff-ffff-ffffffffffff",
};

export interface SettleDayOptions {
  range?: { fromAccount: string; toAccount: string };
  /** The gateway's outbox as settlement asks it for a hold's events. */
  replay?: (keyId: string, callId: string) => Promise<UsageEvent[]>;
  graceMinutes?: number;
}

/**
 * A day's settlement as its queue jobs run it: one chunk over every account, then the finalize (the day's roll-ups),
 * with no gateway to replay from and stale holds released.
 */
export async function settleDayNow(
  sql: Sql,
  day: string,
  { range = ALL_ACCOUNTS, replay, graceMinutes = 60 }: SettleDayOptions = {},
) {
  const [run] = await sql<{ id: string }[]>`
    insert into settlement_runs (day, trigger, jobs_total) values (${day}, 'manual', 2) returning id`;
  const counts = await runChunk(
    sql,
    { runId: run!.id, day, ...range },
    { replay: replay ?? (async () => []), policy: "release", graceMinutes },
  );
  expect((await finalizeRun(sql, run!.id)).completed).toBe(true);
  return counts;
}

export function retentionFixture(sql: Sql, clock: SimulatedClock) {
  let adminId = "";

  /** A daily partition of usage_events for the UTC day (as the partition job makes them: [D, D+1)). */
  const partitionFor = (day: string) => dayPartition(sql, day);

  const partitionExists = async (name: string) => {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_inherits where inhparent = 'usage_events'::regclass
        and inhrelid = to_regclass(${`public.${name}`})`;
    return row!.n === 1;
  };

  async function customer() {
    const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
    const account = await accountOf(sql, userId);
    await topUp(sql, adminId, account.id, 10_000_000n);
    return { userId, accountId: account.id, keyId: await insertKey(sql, userId) };
  }

  const settleDay = (day: string, options: SettleDayOptions = {}) => settleDayNow(sql, day, options);

  /** Before the file's tests: an admin, the price book, the shortest policy, the partitions made ahead settled. */
  async function setUp(adminEmail = `admin-${randomUUID()}@example.com`) {
    adminId = await insertUser(sql, { email: adminEmail, role: "admin" });
    await clock.seedPricedModel();
    await sql`update retention_settings set usage_detail_days = 7, hourly_rollup_days = 30, playground_days = 30`;
    const ahead = await sql<{ day: string }[]>`
      select to_char(from_at at time zone 'utc', 'YYYY-MM-DD') as day from usage_partitions()
      where not is_default and from_at < ${clock.start}`;
    for (const { day } of ahead) await settleDay(day);
    return adminId;
  }

  /** A retention run standing at a simulated moment (its own transactions: it refuses a caller's). */
  const runAt = (moment: string, options: Parameters<typeof runRetention>[1] = {}) =>
    runRetention(sql, { asOf: new Date(moment), ...options });

  return { setUp, partitionFor, partitionExists, customer, settleDay, runAt };
}

/**
 * A database of its own for a test whose retention runs move the claims horizon past its days (so no other test can
 * share them): a clock from 2027-03-01, the fixture set up (an admin, the price book, the shortest policy), and that
 * admin as an actor.
 */
export async function retentionDatabase() {
  const { sql } = await createTestDatabase();
  const clock = simulatedClock(sql, "2027-03-01T00:00:00Z");
  const fixture = retentionFixture(sql, clock);
  const admin = { userId: await fixture.setUp(), kind: "user" as const, role: "admin" as const };
  return { sql, clock, fixture, admin };
}
