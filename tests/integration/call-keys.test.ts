// A call's claim in usage_calls is keyed by call_key(call_id) (docs/adr/0031): the gateway's UUIDs by the uuid they
// spell, any other id by the MD5 of its text. Each call is still charged exactly once whatever its id looks like, ids
// that differ as text never share a claim, a settled call cannot be held again, and the call id search finds a UUID
// by its whole value or its first characters through the claims' key range.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { uuidPrefixRange } from "@/lib/analytics/call-key";
import { listRequests } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import { placeHold } from "@/lib/billing/hold";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { event, fundedCustomer, seedPricedModel } from "../helpers/billing";
import { callIdAt } from "../helpers/call-ids";
import { createTestDatabase } from "../helpers/db";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
await seedPricedModel(sql);

describe("call keys", () => {
  it("key a UUID by itself and any other id by its text's MD5", async () => {
    const v7 = callIdAt(Date.UTC(2028, 1, 29, 23, 59, 59, 999));
    const [row] = await sql<{ own: string; upper: string; text: string; md5: string }[]>`
      select call_key(${v7})::text as own, call_key(${v7.toUpperCase()})::text as upper,
             call_key('call-1')::text as text, md5('call-1')::uuid::text as md5`;
    expect(row!.own).toBe(v7);
    expect(row!.upper).not.toBe(v7); // another spelling is another id
    expect(row!.text).toBe(row!.md5);
  });

  it("charges each call once whatever its id looks like, across replays and in parallel batches", async () => {
    const c = await fundedCustomer(sql, adminId, "keys@example.com");
    const v7 = callIdAt(Date.now() - 1000);
    const ids = [v7, v7.toUpperCase(), randomUUID(), `call-${randomUUID()}`, "x", "a".repeat(200)];
    const batch = ids.map((id) => event(c.keyId, id));
    const runs = await Promise.all([0, 1, 2].map(() => settleUsage(sql, batch)));
    expect(runs.reduce((n, r) => n + r.inserted, 0)).toBe(ids.length);
    expect((await settleUsage(sql, batch)).inserted).toBe(0);
    const rows = await sql<{ call_id: string }[]>`
      select call_id from usage_events where key_id = ${c.keyId} order by call_id`;
    expect(rows.map((r) => r.call_id)).toEqual([...ids].sort());
    const [claims] = await sql<{ n: number }[]>`
      select count(*)::int as n from usage_calls where key_id = ${c.keyId}`;
    expect(claims!.n).toBe(ids.length);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
    // A settled call is never held again, by any spelling the gateway could send it in.
    for (const callId of [v7, "x"]) {
      await expect(
        placeHold(sql, {
          keyId: c.keyId,
          callId,
          nonce: randomUUID(),
          model: "fake-small",
          promptTokens: 10,
          maxOutputTokens: 10,
        }),
      ).rejects.toMatchObject({ code: "conflict", message: expect.stringMatching(/already settled/) });
    }
  });

  it("finds a UUID call by its whole id or its first 13+ characters, and nothing for a prefix no UUID has", async () => {
    const c = await fundedCustomer(sql, adminId, "search@example.com");
    const target = callIdAt(Date.now() - 5000);
    const neighbour = callIdAt(Date.now() - 5000); // the same millisecond: the same first 13 characters
    await settleUsage(sql, [event(c.keyId, target), event(c.keyId, neighbour), event(c.keyId, "not-a-uuid")]);
    const admin = { userId: adminId, kind: "user" as const, role: "admin" as const };
    const range = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() };
    const found = async (callId: string) =>
      (await listRequests(sql, admin, requestLogQuery.parse({ ...range, callId, limit: 50 }))).items
        .map((r) => r.callId)
        .sort();
    expect(await found(target)).toEqual([target]);
    expect(await found(target.slice(0, 13))).toEqual([target, neighbour].sort());
    expect(await found(target.slice(0, 20))).toEqual(
      [target, neighbour].filter((id) => id.startsWith(target.slice(0, 20))).sort(),
    );
    expect(uuidPrefixRange(target.slice(0, 13))).toEqual([
      `${target.slice(0, 13)}-0000-0000-000000000000`,
      `${target.slice(0, 13)}-ffff-ffff-ffffffffffff`,
    ]);
    expect(uuidPrefixRange("0193a2b45-c6d")).toBeNull(); // a dash where no UUID has one
  });
});
