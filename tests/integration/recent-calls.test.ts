// An account's "Recent calls" (GET /api/v1/accounts/{id}/usage, the account page's table) reach its newest
// RECENT_CALLS_MAX calls: each page reads every call before it, and counting all of a busy account's calls read every
// one of them. Deeper pages are refused (422, the request log has every call); the total stops at the cap and says so.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RECENT_CALLS_MAX } from "@/lib/billing/accounts";
import { settleUsage } from "@/lib/billing/settle";
import { event, fundedCustomer, insertKey, seedPricedModel } from "../helpers/billing";
import { callIdAt } from "../helpers/call-ids";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { createTestOrganization } from "../helpers/orgs";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
await seedPricedModel(sql, "fake-small");
const usage = async () => (await import("@/app/api/v1/accounts/[id]/usage/route")).GET;

/** `count` calls of the key, one a millisecond back from `endMs`, settled as the gateway's webhook does. */
async function calls(keyId: string, count: number, endMs: number) {
  for (let from = 0; from < count; from += 1000) {
    const batch = [];
    for (let i = from; i < Math.min(count, from + 1000); i++) {
      const ms = endMs - i * 3;
      batch.push(
        event(keyId, callIdAt(ms), {
          startedAt: new Date(ms).toISOString(),
          endedAt: new Date(ms).toISOString(),
        }),
      );
    }
    await settleUsage(sql, batch);
  }
}

/** A person (two keys) or an organization (two members' keys): its account, its two keys and who may read it. */
async function account(kind: "person" | "organization") {
  if (kind === "person") {
    const email = `${randomUUID()}@example.com`;
    const c = await fundedCustomer(sql, adminId, email, 100_000_000n);
    return { accountId: c.accountId, keys: [c.keyId, await insertKey(sql, c.userId)], email };
  }
  const org = await createTestOrganization(sql, {
    pepper: process.env.KEY_PEPPER!,
    balanceMicros: 100_000_000n,
    members: [{ role: "owner" }, { role: "member" }],
  });
  return {
    accountId: org.accountId,
    keys: org.members.map((m) => m.keys[0]!.id),
    // Its owner's page reads the same API; the admin signs in here (the helper's members have no password).
    email: "admin@example.com",
  };
}

describe("an account's recent calls", () => {
  for (const kind of ["person", "organization"] as const)
    it(`reach ${kind === "person" ? "a person" : "an organization"}'s newest calls to the cap, in order, and say when it has more; deeper pages are refused`, async () => {
      const a = await account(kind);
      const now = Date.now() - 60_000;
      // Two keys, their calls interleaved in time: one past the cap in all.
      await calls(a.keys[0]!, 6_001, now);
      await calls(a.keys[1]!, RECENT_CALLS_MAX - 6_000, now - 1);
      const newest = await sql<{ id: string }[]>`
        select e.id::text from usage_events e where e.key_id in (${a.keys[0]!}, ${a.keys[1]!})
        order by e.started_at desc, e.id desc limit ${RECENT_CALLS_MAX}`;
      const cookie = await signIn(a.email);
      const GET = await usage();
      const page = (p: number, size = 20) =>
        call(GET, {
          cookie,
          params: { id: a.accountId },
          path: `/api/v1/accounts/x/usage?page=${p}&pageSize=${size}`,
        });

      const first = await page(1);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ total: RECENT_CALLS_MAX, capped: true });
      expect(first.body.items.map((r: { id: string }) => r.id)).toEqual(newest.slice(0, 20).map((r) => r.id));
      const last = await page(RECENT_CALLS_MAX / 20);
      expect(last.status).toBe(200);
      expect(last.body.items.map((r: { id: string }) => r.id)).toEqual(newest.slice(-20).map((r) => r.id));
      expect((await page(RECENT_CALLS_MAX / 200, 200)).status).toBe(200);

      for (const [p, size] of [
        [RECENT_CALLS_MAX / 20 + 1, 20],
        [RECENT_CALLS_MAX / 200 + 1, 200],
        [100_000, 200],
      ] as const) {
        const deep = await page(p, size);
        expect(deep.status, `page ${p} × ${size}`).toBe(422);
        expect(deep.body.error).toMatchObject({
          code: "validation_failed",
          message: expect.stringMatching(/request log/),
        });
      }
    });

  it("count every call of an account under the cap, a person's and an organization's", async () => {
    const admin = await signIn("admin@example.com");
    const GET = await usage();
    for (const kind of ["person", "organization"] as const) {
      const a = await account(kind);
      await calls(a.keys[0]!, 3, Date.now() - 60_000);
      const res = await call(GET, {
        cookie: admin,
        params: { id: a.accountId },
        path: "/api/v1/accounts/x/usage",
      });
      expect(res.body, kind).toMatchObject({ total: 3, capped: false });
      expect(res.body.items).toHaveLength(3);
    }
  });
});
