// A call's claim in usage_calls is keyed by call_key(call_id) (docs/adr/0031): the gateway's UUIDs by the uuid they
// spell, any other id by the MD5 of its text. Each call is still charged exactly once whatever its id looks like, ids
// that differ as text never share a claim, a settled call cannot be held again, and the call id search finds a UUID
// by its whole value or its first characters through the claims' key range.
import { createHash, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { uuidPrefixRange } from "@/lib/analytics/call-key";
import { listRequests } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import { placeHold } from "@/lib/billing/hold";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { search } from "@/lib/search/search";
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
    // Any other text: its MD5 with the version digit 0, which no UUID keyed as itself has.
    expect(row!.text).toBe(`${row!.md5.slice(0, 14)}0${row!.md5.slice(15)}`);
    // The moment an id names (docs/adr/0032): a canonical lowercase UUIDv7's millisecond, and nothing for any other id.
    const v4 = randomUUID();
    const [t] = await sql<{ v7: Date | null; upper: Date | null; v4: Date | null; text: Date | null }[]>`
      select call_time(${v7}) as v7, call_time(${v7.toUpperCase()}) as upper, call_time(${v4}) as v4,
             call_time('call-1') as text`;
    expect(t).toEqual({
      v7: new Date(Date.UTC(2028, 1, 29, 23, 59, 59, 999)),
      upper: null,
      v4: null,
      text: null,
    });
  });

  it("keep the two kinds of key apart: the UUID spelled as another id's MD5 is another call", async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `call-${i}-${randomUUID()}`);
    const rows = await sql<{ a: string; b: string; b_text: string; zero: string; zero_key: string }[]>`
      select call_key(a)::text as a, call_key(md5(a)::uuid::text)::text as b, md5(a)::uuid::text as b_text,
             z as zero, call_key(z)::text as zero_key
      from unnest(${ids}::text[]) a,
           lateral (select overlay(md5(a)::uuid::text placing '0' from 15 for 1) as z) v`;
    for (const r of rows) {
      expect(r.a).not.toBe(r.b);
      // A canonical UUID with version digit 0 is keyed by its hash too, never as itself.
      expect(r.zero_key).not.toBe(r.zero);
      expect(r.zero_key.slice(14, 15)).toBe("0");
      if (r.b_text.slice(14, 15) !== "0") expect(r.b).toBe(r.b_text);
    }
    const c = await fundedCustomer(sql, adminId, "spaces@example.com");
    // An id whose MD5, spelled as a UUID, is no UUIDv7: a v7 names the moment its call started (docs/adr/0032), which
    // an MD5's first digits would make a random day; v7 ids are the next test's.
    const a = ids.find((id) => !["0", "7"].includes(createHash("md5").update(id).digest("hex")[12]!))!;
    const [row] = await sql<{ b: string }[]>`select md5(${a})::uuid::text as b`;
    const settled = await settleUsage(sql, [event(c.keyId, a), event(c.keyId, row!.b)]);
    expect(settled.inserted).toBe(2);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
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
    // Every id but the UUIDv7 (its row claims it in its day's partition: docs/adr/0032) has a claim in usage_calls.
    expect(claims!.n).toBe(ids.length - 1);
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
    const ms = Date.now() - 5000;
    const [target, neighbour, third] = [callIdAt(ms), callIdAt(ms), callIdAt(ms)]; // the same first 13 characters
    const at = new Date(ms).toISOString(); // and the same start, as calls of one key at once may have
    const shortId = "0123456789abcdef"; // not a UUID, searched by its whole value
    await settleUsage(sql, [
      ...[target, neighbour, third, shortId].map((id) => event(c.keyId, id, { startedAt: at, endedAt: at })),
      event(c.keyId, "not-a-uuid"),
    ]);
    const admin = { userId: adminId, kind: "user" as const, role: "admin" as const };
    const range = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() };
    const found = async (callId: string) =>
      (await listRequests(sql, admin, requestLogQuery.parse({ ...range, callId, limit: 50 }))).items
        .map((r) => r.callId)
        .sort();
    const all = [target, neighbour, third].sort();
    expect(await found(target)).toEqual([target]);
    expect(await found(target.slice(0, 13))).toEqual(all);
    expect(await found(target.slice(0, 20))).toEqual(all.filter((id) => id.startsWith(target.slice(0, 20))));
    expect(await found(shortId)).toEqual([shortId]);
    // The palette's search: each call once, though the three share a key, a start and a prefix.
    const palette = await search(sql, admin, target.slice(0, 13));
    expect(palette.calls.map((h) => h.callId).sort()).toEqual(all);
    expect(uuidPrefixRange(target.slice(0, 13))).toEqual([
      `${target.slice(0, 13)}-0000-0000-000000000000`,
      `${target.slice(0, 13)}-ffff-ffff-ffffffffffff`,
    ]);
    expect(uuidPrefixRange("0193a2b45-c6d")).toBeNull(); // a dash where no UUID has one
  });
});
