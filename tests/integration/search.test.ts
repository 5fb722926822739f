// The command palette's search on real PostgreSQL: a developer finds their own keys and calls and nobody else's
// (nor any user), an admin finds everyone's; answers are bounded and carry no money; bad queries get the error
// contract.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { settleUsage } from "@/lib/billing/settle";
import { SEARCH_LIMIT } from "@/lib/search/schemas";
import { accountOf, event, seedPricedModel, topUp } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();

type Who = "admin" | "alice" | "bob";
const WHO = ["admin", "alice", "bob"] as const;
const ids = {} as Record<Who, string>;
const cookies = {} as Record<Who, string>;
const keys = {} as Record<Who, string>;
const prefixes = {} as Record<Who, string>;
const calls = {} as Record<Who, string>;
const accounts = {} as Record<Who, string>;

async function insertNamedKey(userId: string, name: string, prefix: string) {
  const [row] = await sql<{ id: string }[]>`
    insert into api_keys (user_id, name, prefix, key_hash)
    values (${userId}, ${name}, ${prefix}, ${Buffer.from(randomUUID())}) returning id`;
  return row!.id;
}

beforeAll(async () => {
  for (const who of WHO) {
    ids[who] = await insertUser(sql, {
      email: `${who}@example.com`,
      role: who === "admin" ? "admin" : "developer",
    });
    await sql`update users set name = ${`${who[0]!.toUpperCase()}${who.slice(1)} Search`} where id = ${ids[who]}`;
    cookies[who] = await signIn(`${who}@example.com`);
  }
  await seedPricedModel(sql);
  for (const who of WHO) {
    prefixes[who] = `tg_${who.slice(0, 3)}x${who.length}abc`.slice(0, 11);
    keys[who] = await insertNamedKey(ids[who], `${who}-production`, prefixes[who]);
    accounts[who] = (await accountOf(sql, ids[who])).id;
    await topUp(sql, ids.admin, accounts[who], 10_000_000n);
    calls[who] = randomUUID();
    await placeHold(sql, {
      keyId: keys[who],
      callId: calls[who],
      nonce: `n-${who}`,
      model: "fake-small",
      promptTokens: 100,
      maxOutputTokens: 200,
    });
    await settleUsage(sql, [event(keys[who], calls[who])]);
  }
});

afterAll(async () => {
  await sql.end();
});

const route = () => import("@/app/api/v1/search/route");

async function search(who: Who | null, q: string | null) {
  const { GET } = await route();
  const path = q === null ? "/api/v1/search" : `/api/v1/search?q=${encodeURIComponent(q)}`;
  return call(GET, { path, cookie: who ? cookies[who] : undefined });
}

async function found(who: Who, q: string) {
  const res = await search(who, q);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as {
    users: { id: string; email: string; accountId: string | null }[];
    keys: { id: string; prefix: string; userEmail: string }[];
    calls: { id: string; callId: string; userEmail: string }[];
  };
}

describe("a developer's palette", () => {
  it("finds their own call by its exact id and by its first characters", async () => {
    for (const q of [calls.alice, calls.alice.slice(0, 13)]) {
      const hits = await found("alice", q);
      expect(hits.calls.map((c) => c.callId)).toEqual([calls.alice]);
      expect(hits.calls[0]!.userEmail).toBe("alice@example.com");
    }
  });

  it("finds none of another person's calls, even by the exact id", async () => {
    for (const who of ["bob", "admin"] as const) {
      for (const q of [calls[who], calls[who].slice(0, 13)]) {
        expect((await found("alice", q)).calls).toEqual([]);
      }
    }
  });

  it("finds their own keys by name and prefix, and no one else's", async () => {
    expect((await found("alice", "production")).keys.map((k) => k.id)).toEqual([keys.alice]);
    expect((await found("alice", prefixes.alice)).keys.map((k) => k.id)).toEqual([keys.alice]);
    for (const who of ["bob", "admin"] as const) {
      expect((await found("alice", prefixes[who])).keys).toEqual([]);
      expect((await found("alice", `${who}-prod`)).keys).toEqual([]);
    }
  });

  it("finds no users, not even themselves", async () => {
    for (const q of ["bob@", "alice", "Search"]) expect((await found("alice", q)).users).toEqual([]);
  });
});

describe("an admin's palette", () => {
  it("finds anyone's call, key and user, with the user's account", async () => {
    const byCall = await found("admin", calls.bob.slice(0, 13));
    expect(byCall.calls.map((c) => c.callId)).toEqual([calls.bob]);
    expect(byCall.calls[0]!.userEmail).toBe("bob@example.com");
    expect((await found("admin", prefixes.bob)).keys.map((k) => k.id)).toEqual([keys.bob]);
    expect((await found("admin", "production")).keys.map((k) => k.id).sort()).toEqual(
      Object.values(keys).sort(),
    );
    const byEmail = await found("admin", "bob@ex");
    expect(byEmail.users.map((u) => [u.id, u.accountId])).toEqual([[ids.bob, accounts.bob]]);
    const byName = await found("admin", "alice search");
    expect(byName.users.map((u) => u.email)).toEqual(["alice@example.com"]);
  });
});

describe("answers", () => {
  it("are bounded however many rows match", async () => {
    for (let i = 0; i < SEARCH_LIMIT + 4; i++) await insertNamedKey(ids.bob, `bulk-${i}`, `tg_bulk${i}`);
    expect((await found("bob", "bulk")).keys).toHaveLength(SEARCH_LIMIT);
    expect((await found("admin", "tg_bulk")).keys).toHaveLength(SEARCH_LIMIT);
  });

  it("carry no money, provider cost included", async () => {
    const text = JSON.stringify(await found("admin", calls.alice));
    expect(text).toContain(calls.alice);
    expect(text).not.toMatch(/micros|cost|margin|revenue/i);
  });
});

describe("bad queries", () => {
  it.each([
    ["no query", null, "q"],
    ["one character", "a", "q"],
    ["only spaces", "     ", "q"],
    ["over 100 characters", "x".repeat(101), "q"],
  ])("%s: 422 in the error contract, naming the field", async (_name, q, field) => {
    const res = await search("alice", q);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.message).toMatch(/^Invalid query: q:/);
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toEqual([field]);
  });

  it("an unknown parameter is refused, not ignored", async () => {
    const { GET } = await route();
    const res = await call(GET, { path: "/api/v1/search?q=alice&userId=x", cookie: cookies.alice });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
  });

  it("without a session: 401", async () => {
    const res = await search(null, "alice");
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("unauthorized");
  });
});
