// Redemption codes on real PostgreSQL: created in batches and shown once, stored hashed, credited once to one
// account in one statement (even when two users race for a code), refused when used or expired, and guessing
// is throttled per user and per address.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { awayFromWindowEdge } from "../helpers/attempts";
import { accountOf } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

process.env.REDEEM_MAX_ATTEMPTS_PER_USER = "3";
process.env.REDEEM_MAX_ATTEMPTS_PER_IP = "6";
process.env.TRUSTED_PROXY = "1";
const WINDOW_SECONDS = 900;
process.env.LOGIN_WINDOW_SECONDS = String(WINDOW_SECONDS);
const { sql } = await createTestDatabase();
let admin: string;

const batches = () => import("@/app/api/v1/redemption-batches/route");
const redemptions = () => import("@/app/api/v1/redemption-batches/[id]/redemptions/route");
const redeem = () => import("@/app/api/v1/redeem/route");

beforeAll(async () => {
  await insertUser(sql, { email: "admin@example.com", role: "admin" });
  admin = await signIn("admin@example.com");
});

async function batch(body: Record<string, unknown> = {}) {
  const { POST } = await batches();
  const res = await call(POST, {
    cookie: admin,
    body: { amountMicros: "2500000", count: 3, note: "launch", ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { batch: { id: string }; codes: string[] };
}

async function developer(ip = "10.9.0.1") {
  const email = `${randomUUID()}@example.com`;
  const userId = await insertUser(sql, { email });
  const cookie = await signIn(email);
  const use = async (code: string, from = ip) =>
    call((await redeem()).POST, { cookie, body: { code }, headers: { "x-forwarded-for": from } });
  return { userId, cookie, use };
}

async function attempts(bucket: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select coalesce(sum(attempts), 0)::int as n from login_attempts where bucket = ${bucket}`;
  return row!.n;
}

describe("redemption codes", () => {
  it("are shown once and stored only as HMACs", async () => {
    const { codes, batch: b } = await batch();
    expect(codes).toHaveLength(3);
    for (const code of codes) expect(code).toMatch(/^TG-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    const stored =
      await sql`select encode(code_hash, 'hex') as h, prefix from redemption_codes where batch_id = ${b.id}`;
    expect(stored).toHaveLength(3);
    for (const row of stored)
      for (const code of codes) expect(row.h).not.toContain(Buffer.from(code).toString("hex"));
    const [audit] = await sql`select action from audit_log where target_id = ${b.id}`;
    expect(audit!.action).toBe("redemption.batch_create");
  });

  it("credit the amount once to one account; a second redemption is refused and writes nothing", async () => {
    const { codes, batch: b } = await batch();
    const dev = await developer();
    const first = await dev.use(codes[0]!.toLowerCase().replace(/-/g, " "));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.creditedMicros).toBe(2_500_000);
    expect(first.body.account.balanceMicros).toBe(2_500_000);
    const again = await dev.use(codes[0]!);
    expect(again.status).toBe(422);
    expect(again.body.error.code).toBe("invalid_code");
    const other = await developer("10.9.0.2");
    expect((await other.use(codes[0]!)).status).toBe(422);
    expect((await accountOf(sql, dev.userId)).balance_micros).toBe(2_500_000n);
    expect((await accountOf(sql, other.userId)).balance_micros).toBe(0n);
    const [txn] = await sql`
      select t.kind, t.reason from ledger_transactions t join ledger_entries e on e.transaction_id = t.id
      join accounts a on a.id = e.account_id where a.owner_user_id = ${dev.userId}`;
    expect(txn).toMatchObject({
      kind: "redemption",
      reason: `Redemption code ${codes[0]!.slice(0, 7)}… (launch)`,
    });
    const list = await call((await redemptions()).GET, { cookie: admin, params: { id: b.id } });
    expect(list.body.items).toHaveLength(1);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("credit once when users race for the same code", async () => {
    const { codes } = await batch({ count: 1, amountMicros: 1_000_000 });
    const racers = await Promise.all(Array.from({ length: 6 }, (_, i) => developer(`10.9.1.${i}`)));
    const results = await Promise.all(racers.map((r) => r.use(codes[0]!)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const balances = await Promise.all(racers.map((r) => accountOf(sql, r.userId)));
    expect(balances.reduce((s, a) => s + a.balance_micros, 0n)).toBe(1_000_000n);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("are refused once their batch has expired", async () => {
    const { codes, batch: b } = await batch({ expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await sql`update redemption_batches set expires_at = now() - interval '1 second' where id = ${b.id}`;
    const dev = await developer("10.9.2.1");
    expect((await dev.use(codes[0]!)).status).toBe(422);
  });

  it("throttle guessing per user and per address", async () => {
    const { codes } = await batch();
    await awayFromWindowEdge(sql, WINDOW_SECONDS);
    const dev = await developer("10.9.3.1");
    for (let i = 0; i < 3; i++) expect((await dev.use(`TG-GUESS-${i}AAA-BBBB-CCCC`)).status).toBe(422);
    const blocked = await dev.use(codes[0]!);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another user on the same address: per-address limit (6) is shared.
    const neighbour = await developer("10.9.3.1");
    for (let i = 0; i < 3; i++) expect((await neighbour.use(`TG-NOPE-${i}AAA-BBBB-CCCC`)).status).toBe(422);
    expect((await neighbour.use(codes[0]!)).status).toBe(429);
    // From elsewhere the code is still good (it was never redeemed).
    const elsewhere = await developer("10.9.4.1");
    expect((await elsewhere.use(codes[0]!)).status).toBe(200);
  });

  it("50 concurrent wrong guesses by one user: exactly the limit (3) are evaluated, the rest are 429", async () => {
    const dev = await developer("10.9.5.1");
    await awayFromWindowEdge(sql, WINDOW_SECONDS);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => dev.use(`TG-RACE-${String(i).padStart(4, "0")}-BBBB-CCCC`)),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 422)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(47);
    for (const r of results.filter((r) => r.status === 429)) {
      expect(r.body.error.code).toBe("rate_limited");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    // A refused attempt counts in no bucket: the address took exactly the evaluated ones.
    expect(await attempts(`redeem:user:${dev.userId}`)).toBe(3);
    expect(await attempts("redeem:ip:10.9.5.1")).toBe(3);
  });

  it("concurrent guesses by many users from one address: exactly the address's limit (6) are evaluated", async () => {
    const devs = await Promise.all(Array.from({ length: 5 }, () => developer("10.9.6.1")));
    await awayFromWindowEdge(sql, WINDOW_SECONDS);
    const results = await Promise.all(
      devs.flatMap((d, u) => Array.from({ length: 4 }, (_, i) => d.use(`TG-ADDR-${u}${i}AA-BBBB-CCCC`))),
    );
    expect(results.filter((r) => r.status === 422)).toHaveLength(6);
    expect(results.filter((r) => r.status === 429)).toHaveLength(14);
    expect(await attempts("redeem:ip:10.9.6.1")).toBe(6);
    // No user was charged an attempt the address refused: the users' counts add up to the address's.
    const perUser = await Promise.all(devs.map((d) => attempts(`redeem:user:${d.userId}`)));
    expect(perUser.reduce((a, b) => a + b, 0)).toBe(6);
    for (const n of perUser) expect(n).toBeLessThanOrEqual(3);
  });

  it("a success does not clear the failures before it", async () => {
    const { codes } = await batch({ count: 2 });
    const dev = await developer("10.9.7.1");
    await awayFromWindowEdge(sql, WINDOW_SECONDS);
    for (let i = 0; i < 2; i++) expect((await dev.use(`TG-MISS-${i}AAA-BBBB-CCCC`)).status).toBe(422);
    const good = await dev.use(codes[0]!);
    expect(good.status, JSON.stringify(good.body)).toBe(200);
    // The two failures still count: one more wrong guess fills the user's three, and then even a good code waits.
    expect(await attempts(`redeem:user:${dev.userId}`)).toBe(2);
    expect((await dev.use("TG-MISS-2AAA-BBBB-CCCC")).status).toBe(422);
    const blocked = await dev.use(codes[1]!);
    expect(blocked.status).toBe(429);
    expect((await accountOf(sql, dev.userId)).balance_micros).toBe(2_500_000n);
    const [code] =
      await sql`select redeemed_at from redemption_codes where prefix = ${codes[1]!.slice(0, 7)}`;
    expect(code!.redeemed_at).toBeNull();
  });

  it("concurrent guesses with the right code among them: the code credits, the wrong ones stop at the limit", async () => {
    const { codes } = await batch({ count: 1, amountMicros: 700_000 });
    const dev = await developer("10.9.8.1");
    await awayFromWindowEdge(sql, WINDOW_SECONDS);
    const guesses = Array.from({ length: 20 }, (_, i) => `TG-MIXD-${String(i).padStart(4, "0")}-BBBB-CCCC`);
    guesses.splice(10, 0, codes[0]!);
    const results = await Promise.all(guesses.map((g) => dev.use(g)));
    const wrong = results.filter((_, i) => i !== 10);
    const right = results[10]!;
    // The right code is evaluated only if it got an attempt (a success gives its attempt back); either way no more
    // than 3 wrong ones are.
    expect(wrong.filter((r) => r.status === 422).length).toBeLessThanOrEqual(3);
    expect([200, 429]).toContain(right.status);
    const balance = (await accountOf(sql, dev.userId)).balance_micros;
    expect(balance).toBe(right.status === 200 ? 700_000n : 0n);
    expect(await attempts(`redeem:user:${dev.userId}`)).toBe(wrong.filter((r) => r.status === 422).length);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("bad batches are refused: zero amounts, too many codes, past expiry", async () => {
    const { POST } = await batches();
    for (const body of [
      { amountMicros: 0, count: 1 },
      { amountMicros: "1000", count: 1001 },
      { amountMicros: "1000", count: 1, expiresAt: "2020-01-01T00:00:00Z" },
    ])
      expect((await call(POST, { cookie: admin, body })).status).toBe(422);
  });
});
