// Reads of usage_events with a known time bound leave the other days' partitions alone (review of issue 27 part 3):
// a statement's calls started before a day after its month's end (settle_usage records no event started more than a
// day after its batch's ledger transaction), so computing an old month's statement neither reads nor locks a later
// day's partition — here one held ACCESS EXCLUSIVE (as a DROP holds it) does not stop it. Moments are explicit.
import { afterAll, describe, expect, it } from "vitest";
import { createClient } from "@/lib/db/client";
import { computeStatement } from "@/lib/statements/compute";
import { accountOf } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { signal } from "../helpers/signal";
import { insertUser } from "../helpers/users";

const { sql, url, prepare } = await createTestDatabase();
const holder = createClient({ url, max: 1, prepare });
afterAll(() => holder.end({ timeout: 1 }));

/** Fails instead of waiting: a read that visits the held partition waits for its holder. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe("a statement's calls", () => {
  it("are read from the partitions up to a day after the month, not from a later day's", async () => {
    const account = await accountOf(sql, await insertUser(sql, { email: "bounded@example.com" }));
    await sql.unsafe(
      `create table public.usage_events_p20300101 partition of usage_events
         for values from ('2030-01-01T00:00:00Z') to ('2030-01-02T00:00:00Z')`,
    );
    const { promise: held, fire: release } = signal();
    const holding = holder.begin(async (h) => {
      await h`lock table usage_events_p20300101 in access exclusive mode`;
      await held;
    });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const statement = await within(3000, computeStatement(sql, account.id, "2029-11"));
      expect(statement.month).toBe("2029-11");
    } finally {
      release();
      await holding;
    }
  });
});
