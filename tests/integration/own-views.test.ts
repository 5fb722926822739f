// The developer area's "My calls", "My usage" and "My API keys" (issue 26, deliverable 4) on real PostgreSQL: the
// /api/v1/me routes behind them answer with the signed-in person's own keys, calls and usage whatever their role —
// an admin's included — while the admin pages' routes keep the whole platform.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { settleUsage } from "@/lib/billing/settle";
import { accountOf, event, insertKey, seedPricedModel, topUp } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { type CallOptions, call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const HOUR = 3_600_000;

type Who = "admin" | "alice" | "bob";
const ids = {} as Record<Who, string>;
const cookies = {} as Record<Who, string>;
const keys = {} as Record<Who, string>;
// Calls a few hours back, so the analytics read whole hours (where an admin's platform view reads usage_hourly).
const CALLS: Record<Who, number> = { admin: 2, alice: 3, bob: 4 };

beforeAll(async () => {
  for (const who of ["admin", "alice", "bob"] as const) {
    ids[who] = await insertUser(sql, {
      email: `${who}@example.com`,
      role: who === "admin" ? "admin" : "developer",
    });
    cookies[who] = await signIn(`${who}@example.com`);
  }
  await seedPricedModel(sql);
  for (const who of ["admin", "alice", "bob"] as const) {
    keys[who] = await insertKey(sql, ids[who]);
    await topUp(sql, ids.admin, (await accountOf(sql, ids[who])).id, 10_000_000n);
    for (let i = 0; i < CALLS[who]; i++) {
      const callId = `${who}-${i}`;
      const at = new Date(Date.now() - 3 * HOUR + i * 1000);
      await placeHold(sql, {
        keyId: keys[who],
        callId,
        nonce: `n-${callId}`,
        model: "fake-small",
        promptTokens: 100,
        maxOutputTokens: 200,
      });
      await settleUsage(sql, [
        event(keys[who], callId, {
          startedAt: at.toISOString(),
          endedAt: new Date(at.getTime() + 250).toISOString(),
        }),
      ]);
    }
  }
});

afterAll(async () => {
  await sql.end();
});

const routes = {
  myKeys: () => import("@/app/api/v1/me/keys/route"),
  myRequests: () => import("@/app/api/v1/me/requests/route"),
  myRequest: () => import("@/app/api/v1/me/requests/[id]/route"),
  myExport: () => import("@/app/api/v1/me/requests/export/route"),
  myUsage: () => import("@/app/api/v1/me/analytics/usage/route"),
  myOptions: () => import("@/app/api/v1/me/analytics/options/route"),
  keys: () => import("@/app/api/v1/keys/route"),
  requests: () => import("@/app/api/v1/requests/route"),
  usage: () => import("@/app/api/v1/analytics/usage/route"),
};

async function get(route: keyof typeof routes, who: Who, path = "/", options: CallOptions = {}) {
  const { GET } = await routes[route]();
  const res = await call(GET, { ...options, cookie: cookies[who], path });
  expect(res.status, `${route} as ${who}: ${JSON.stringify(res.body)}`).toBe(200);
  return res;
}

async function eventIdsOf(who: Who): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select id::text as id from usage_events where key_id in (select id from api_keys where user_id = ${ids[who]}) order by id`;
  return rows.map((r) => r.id);
}

const others = (who: Who) => (["admin", "alice", "bob"] as const).filter((w) => w !== who);

describe.each(["admin", "alice"] as const)("the %s's own views", (who) => {
  it("My API keys: only their own keys, whatever userId is asked for", async () => {
    const mine = await get("myKeys", who);
    expect(mine.body.items.map((k: { id: string }) => k.id)).toEqual([keys[who]]);
    expect(mine.body.total).toBe(1);
    for (const other of others(who)) {
      const asked = await get("myKeys", who, `/?userId=${ids[other]}`);
      expect(asked.body.items.map((k: { id: string }) => k.id)).toEqual([keys[who]]);
    }
  });

  it("My calls: only their own calls; another person's call is not found", async () => {
    const log = await get("myRequests", who);
    expect(log.body.items).toHaveLength(CALLS[who]);
    expect(new Set(log.body.items.map((r: { userId: string }) => r.userId))).toEqual(new Set([ids[who]]));
    // Asking for someone else's calls gives nothing rather than theirs.
    for (const other of others(who)) {
      expect((await get("myRequests", who, `/?userId=${ids[other]}`)).body.items).toEqual([]);
    }
    const [own] = await eventIdsOf(who);
    await get("myRequest", who, "/", { params: { id: own! } });
    const { GET } = await routes.myRequest();
    for (const other of others(who)) {
      const [theirs] = await eventIdsOf(other);
      const res = await call(GET, { cookie: cookies[who], params: { id: theirs! } });
      expect(res.status).toBe(404);
    }
  });

  it("My calls' CSV export: only their own calls", async () => {
    const csv: string = (await get("myExport", who)).body;
    const rows = csv.trim().split("\r\n").slice(1);
    expect(rows).toHaveLength(CALLS[who]);
    expect(rows.every((r) => r.includes(`${who}@example.com`))).toBe(true);
  });

  it("My usage: totals, series and breakdown of their own calls; the pickers offer their own keys", async () => {
    const usage = await get("myUsage", who, "/?by=key");
    expect(usage.body.totals.calls).toBe(CALLS[who]);
    expect(usage.body.series.reduce((s: number, p: { calls: number }) => s + p.calls, 0)).toBe(CALLS[who]);
    expect(usage.body.breakdown.map((r: { id: string }) => r.id)).toEqual([keys[who]]);
    const [charged] = await sql<{ total: bigint }[]>`
      select coalesce(sum(revenue_micros), 0)::bigint as total from usage_events where key_id in (select id from api_keys where user_id = ${ids[who]})`;
    expect(BigInt(usage.body.totals.revenueMicros)).toBe(charged!.total);
    const options = await get("myOptions", who);
    expect(options.body.keys.map((k: { id: string }) => k.id)).toEqual([keys[who]]);
    expect(options.body.users).toEqual([]);
  });
});

describe("the admin pages keep the whole platform", () => {
  const everyone = CALLS.admin + CALLS.alice + CALLS.bob;

  it("keys, request log and analytics list every user's rows", async () => {
    const allKeys = await get("keys", "admin");
    expect(allKeys.body.items.map((k: { id: string }) => k.id).sort()).toEqual(Object.values(keys).sort());
    expect((await get("requests", "admin")).body.items).toHaveLength(everyone);
    expect((await get("usage", "admin")).body.totals.calls).toBe(everyone);
  });

  it("a developer asking the keys route for everyone's still gets their own", async () => {
    const theirs = await get("keys", "alice");
    expect(theirs.body.items.map((k: { id: string }) => k.id)).toEqual([keys.alice]);
  });
});
