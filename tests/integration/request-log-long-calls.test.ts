// The request log reads a call whose end is weeks after its start: a hold that settlement waives long after its call
// started ends then (lib/settlement/run.ts), and latency or time to first token past 24.8 days (2^31 ms) does not fit
// an int. The row shows the whole span. A simulated clock in March 2026: nothing depends on today's date.
import { expect, it } from "vitest";
import { listRequests } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import { settleUsage } from "@/lib/billing/settle";
import { ADMIN_ACTOR, event, insertKey, seedPricedModel } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2026-03-01T00:00:00Z");

it("a call that ended 31 days after it started shows its latency and time to first token in full", async () => {
  const adminId = await insertUser(sql, { email: "admin-long@example.com", role: "admin" });
  const userId = await insertUser(sql, { email: "dev-long@example.com" });
  await seedPricedModel(sql);
  const keyId = await insertKey(sql, userId);
  const startedAt = "2026-03-02T10:00:00.000Z";
  const spanMs = 31 * 86_400_000;
  const ended = new Date(Date.parse(startedAt) + spanMs).toISOString();
  await clock.at(ended, (db) =>
    settleUsage(db, [
      event(keyId, "long-call", {
        startedAt,
        endedAt: ended,
        stream: true,
        firstTokenAt: ended,
        status: "failure",
      }),
    ]),
  );
  const page = await listRequests(
    sql,
    ADMIN_ACTOR(adminId),
    requestLogQuery.parse({ from: "2026-03-01", to: "2026-03-05" }),
  );
  expect(page.items.map((r) => [r.callId, r.latencyMs, r.ttftMs])).toEqual([["long-call", spanMs, spanMs]]);
});
