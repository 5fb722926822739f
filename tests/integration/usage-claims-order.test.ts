// A UUIDv7 call's claim is its row, keyed in its day's partition by the call key index (docs/adr/0032), and that index
// stays packed as the gateway's time-ordered call ids arrive (docs/adr/0028): a batch's rows are inserted in call id
// order, so its v7 ids fill the index's right edge page after page instead of splitting its pages in halves as they
// would in the batch's key order. On a simulated clock.
import { describe, expect, it } from "vitest";
import { settleUsage, type UsageEvent } from "@/lib/billing/settle";
import { event, fundedCustomer } from "../helpers/billing";
import { callIdAt } from "../helpers/call-ids";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2028-02-28T00:00:00Z");
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
await clock.seedPricedModel();
const customers = await Promise.all(
  Array.from({ length: 50 }, (_, i) => fundedCustomer(sql, adminId, `c${i}@example.com`, 1_000_000_000n)),
);

describe("claims of time-ordered call ids", () => {
  it("fill their days' call key indexes: a batch's calls are recorded in call id order, not in its keys' order", async () => {
    // 24 outbox batches of 500 across 29 February's last minutes and 1 March's first: each batch's calls from the
    // same few seconds, interleaved over 50 keys (settle_usage reads a batch in key order).
    const start = Date.parse("2028-02-29T23:58:00Z");
    for (let b = 0; b < 24; b++) {
      const events: UsageEvent[] = Array.from({ length: 500 }, (_, i) => {
        const ms = start + b * 10_000 + Math.floor((i * 10_000) / 500);
        const at = new Date(ms).toISOString();
        return event(customers[(i * 7) % customers.length]!.keyId, callIdAt(ms), {
          startedAt: at,
          endedAt: at,
        });
      });
      const result = await clock.at(new Date(start + (b + 1) * 10_000).toISOString(), (db) =>
        settleUsage(db, events),
      );
      expect(result.inserted).toBe(500);
    }
    const [row] = await sql<{ claims: number; calls: number; bytes: number; indexes: number }[]>`
      select (select count(*)::int from usage_calls) as claims,
             (select count(*)::int from usage_events) as calls,
             sum(pg_relation_size(x.indexrelid))::int as bytes, count(*)::int as indexes
      from pg_inherits i join pg_index x on x.indrelid = i.inhrelid
      join pg_class ic on ic.oid = x.indexrelid
      where i.inhparent = 'usage_events'::regclass and ic.relname like '%\_call\_key\_idx'`;
    // No claim in usage_calls: each call's row is its claim.
    expect(row!.claims).toBe(0);
    expect(row!.calls).toBe(12_000);
    expect(row!.indexes).toBeGreaterThanOrEqual(2); // 29 February's and 1 March's partitions (and the others')
    // An entry is 44 B (the call key and the key, two uuids, the tuple header and line pointer): pages 90 % full
    // take ~51 B a call; in the batch's key order the same ids took ~68 B a claim (usage_calls_call_key, measured
    // 2026-12-06, docs/adr/0031).
    const perCall = row!.bytes / row!.calls;
    expect(perCall, `${perCall.toFixed(1)} B per call`).toBeLessThan(58);
  });
});
