// Organization caps where the money is reserved (issue 25, ADR 0016): a member's daily and monthly caps, the
// organization's balance and the key's budgets are each checked by the conditional UPDATE that reserves the amount
// (place_hold, grant_lease), so concurrency, leases, midnight and month end cannot overshoot any of them. On real
// PostgreSQL, with the numbers: exact counts under concurrency, and generated sequences of holds and leases on a
// simulated clock that crosses a UTC midnight, a month end, a year end and 29 February.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { grantLease, returnLease } from "@/lib/billing/leases";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { createClient, type Db } from "@/lib/db/client";
import { hashKey } from "@/lib/keys/secret";
import { verifyKey } from "@/lib/keys/verify";
import { event, PRICE, topUp } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { priceTokens } from "../helpers/price";
import { insertUser } from "../helpers/users";

const { sql, url } = await createTestDatabase();
const PEPPER = "org-caps-pepper-0123456789abcdef";
let adminId: string;

// Every moment is on this clock; the price is in force from a day before its start.
const clock = simulatedClock(sql, "2027-12-30T00:00:00Z");

// One call's worst case: 100 prompt tokens and at most 1,000 output tokens of fake-small (50 + 1,500 µ$).
const PROMPT = 100;
const MAX_OUT = 1000;
const WORST = priceTokens({ input: PROMPT, output: MAX_OUT }, PRICE);

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await clock.seedPricedModel();
});

interface Member {
  userId: string;
  keyIds: string[];
  secrets: string[];
}

/** An organization with a funded team account, its members (caps per member) and two keys each. */
async function organization(
  balance: bigint,
  caps: { daily?: bigint | null; monthly?: bigint | null }[],
): Promise<{ id: string; accountId: string; members: Member[] }> {
  const slug = `org-${randomUUID().slice(0, 8)}`;
  const [org] = await sql<{ id: string }[]>`
    insert into organizations (name, slug, created_by) values (${slug}, ${slug}, ${adminId}) returning id`;
  const [account] = await sql<{ id: string }[]>`
    insert into accounts (kind, organization_id) values ('team', ${org!.id}) returning id`;
  const members: Member[] = [];
  for (const [i, cap] of caps.entries()) {
    const userId = await insertUser(sql, { email: `${slug}-${i}@example.com` });
    await sql`insert into organization_members (organization_id, user_id, role, daily_cap_micros, monthly_cap_micros)
              values (${org!.id}, ${userId}, ${i === 0 ? "owner" : "member"}, ${cap.daily ?? null},
                      ${cap.monthly ?? null})`;
    const keyIds: string[] = [];
    const secrets: string[] = [];
    for (let k = 0; k < 2; k++) {
      const secret = `tg_${randomUUID().replaceAll("-", "")}`;
      const [key] = await sql<{ id: string }[]>`
        insert into api_keys (user_id, account_id, name, prefix, key_hash)
        values (${userId}, ${account!.id}, 'org key', ${secret.slice(0, 10)}, ${hashKey(secret, PEPPER)})
        returning id`;
      keyIds.push(key!.id);
      secrets.push(secret);
    }
    members.push({ userId, keyIds, secrets });
  }
  if (balance > 0n) await topUp(sql, adminId, account!.id, balance);
  return { id: org!.id, accountId: account!.id, members };
}

/** A refusal for money or a cap is an outcome of a generated step; anything else fails the test. */
function refused(error: unknown): null {
  const code = (error as { code?: string }).code;
  if (code === "budget_exceeded" || code === "insufficient_balance") return null;
  throw error;
}

const hold = (db: Db, keyId: string, callId = randomUUID() as string) =>
  placeHold(db, {
    keyId,
    callId,
    nonce: `n-${callId}`,
    model: "fake-small",
    promptTokens: PROMPT,
    maxOutputTokens: MAX_OUT,
  });

/** The member's counters as read at a moment (an earlier window counts as 0: window_used). */
async function memberUsed(db: Db, orgId: string, userId: string) {
  const [row] = await db<{ day: bigint; month: bigint }[]>`
    select window_used(day_used_micros, budget_day, tollgate_now(), 'day') as day,
           window_used(month_used_micros, budget_month, tollgate_now(), 'month') as month
    from organization_members where organization_id = ${orgId} and user_id = ${userId}`;
  return row!;
}

async function accountRow(id: string) {
  const [row] = await sql<{ balance: bigint; held: bigint }[]>`
    select balance_micros as balance, held_micros as held from accounts where id = ${id}`;
  return row!;
}

describe("concurrent holds on an organization's keys", () => {
  it("stop each member exactly at their cap and the organization exactly at its balance", async () => {
    // Caps of 12⅘ and 20 worst cases; the third member is stopped only by the balance (100,000 µ$).
    const org = await organization(100_000n, [{ daily: 20_000n }, { monthly: 31_000n }, {}]);
    const pool = createClient({ url, max: 24, applicationName: "org-caps" });
    const moment = clock.after(10 * 3600_000);
    try {
      const attempts = Array.from(
        { length: 240 },
        (_, i) => org.members[i % 3]!.keyIds[Math.floor(i / 3) % 2]!,
      );
      const results = await Promise.allSettled(
        attempts.map((keyId) =>
          pool.begin(async (tx) => {
            await tx`select set_config('tollgate.now', ${moment}, true)`;
            return hold(tx, keyId);
          }),
        ),
      );
      const placed = [0, 0, 0];
      const refused: Record<string, number> = {};
      results.forEach((r, i) => {
        if (r.status === "fulfilled") placed[i % 3]!++;
        else {
          const e = r.reason as { code?: string; details?: { scope?: string } };
          const why = `${e.code}:${e.details?.scope ?? ""}`;
          refused[why] = (refused[why] ?? 0) + 1;
        }
      });
      const capped = [20_000n / WORST, 31_000n / WORST];
      const third = (100_000n - (capped[0]! + capped[1]!) * WORST) / WORST;
      expect(placed).toEqual([Number(capped[0]), Number(capped[1]), Number(third)]);
      expect(refused).toEqual({
        "budget_exceeded:member": 160 - Number(capped[0]! + capped[1]!),
        "insufficient_balance:": 80 - Number(third),
      });
      const account = await accountRow(org.accountId);
      expect(account.held).toBe(BigInt(placed.reduce((a, b) => a + b)) * WORST);
      expect(account.balance - account.held).toBeGreaterThanOrEqual(0n);
      await clock.at(moment, async (db) => {
        expect(await memberUsed(db, org.id, org.members[0]!.userId)).toEqual({
          day: capped[0]! * WORST,
          month: capped[0]! * WORST,
        });
      });
    } finally {
      await pool.end();
    }
  });

  it("grant leases to one member's two keys concurrently without passing the member's cap", async () => {
    const org = await organization(1_000_000n, [{ daily: 50_000n }]);
    const pool = createClient({ url, max: 12, applicationName: "org-caps-leases" });
    const moment = clock.after(11 * 3600_000);
    let granted = 0n;
    try {
      // Rounds of concurrent grants until every one is refused: each is sized to the member's room at its turn.
      for (let round = 0; round < 30; round++) {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            pool.begin(async (tx) => {
              await tx`select set_config('tollgate.now', ${moment}, true)`;
              return grantLease(
                tx,
                {
                  leaseId: randomUUID(),
                  keyId: org.members[0]!.keyIds[i % 2]!,
                  processId: `p${i}`,
                  nonce: randomUUID(),
                  wantMicros: 20_000n,
                  minMicros: WORST,
                },
                { ttlSeconds: 60 },
              );
            }),
          ),
        );
        const ok = results.filter((r) => r.status === "fulfilled");
        for (const r of ok)
          granted += (r as PromiseFulfilledResult<{ grantedMicros: bigint }>).value.grantedMicros;
        if (!ok.length) {
          const reason = (results[0] as PromiseRejectedResult).reason as { details?: { scope?: string } };
          expect(reason.details?.scope).toBe("member");
          break;
        }
      }
      expect(granted).toBeLessThanOrEqual(50_000n);
      expect(50_000n - granted).toBeLessThan(WORST);
      expect((await accountRow(org.accountId)).held).toBe(granted);
    } finally {
      await pool.end();
    }
  });
});

describe("a member's keys at the gateway", () => {
  it("are refused once the member leaves, and a billing member's keys never spend", async () => {
    const org = await organization(100_000n, [{}, {}, {}]);
    const [, leaving, billing] = org.members;
    expect((await verifyKey(sql, leaving!.secrets[0]!, PEPPER)).valid).toBe(true);
    await sql`delete from organization_members where organization_id = ${org.id} and user_id = ${leaving!.userId}`;
    await sql`update organization_members set role = 'billing' where organization_id = ${org.id}
              and user_id = ${billing!.userId}`;
    for (const m of [leaving!, billing!]) {
      expect(await verifyKey(sql, m.secrets[0]!, PEPPER)).toMatchObject({ valid: false, reason: "revoked" });
      await expect(
        clock.at(clock.after(12 * 3600_000), (db) => hold(db, m.keyIds[0]!)),
      ).rejects.toMatchObject({
        code: "unauthorized",
      });
    }
    await sql`update organizations set status = 'suspended' where id = ${org.id}`;
    expect(await verifyKey(sql, org.members[0]!.secrets[0]!, PEPPER)).toMatchObject({
      valid: false,
      reason: "owner_suspended",
    });
    expect((await accountRow(org.accountId)).held).toBe(0n);
  });

  it("keep a member's caps counted when they are removed and invited back the same day", async () => {
    const org = await organization(100_000n, [{}, { daily: 4_000n }]);
    const [, member] = org.members;
    const moment = clock.after(14 * 3600_000);
    const callId = randomUUID();
    await clock.at(moment, (db) => hold(db, member!.keyIds[0]!, callId));
    await clock.at(moment, (db) =>
      settleUsage(db, [
        event(member!.keyIds[0]!, callId, { completionTokens: MAX_OUT, startedAt: moment, endedAt: moment }),
      ]),
    );
    await sql`delete from organization_members where organization_id = ${org.id} and user_id = ${member!.userId}`;
    await clock.at(
      moment,
      (db) => db`
      insert into organization_members (organization_id, user_id, role, daily_cap_micros)
      values (${org.id}, ${member!.userId}, 'member', 4000)`,
    );
    // 1,550 charged today already: a second worst case of 1,550 fits the 4,000 cap, a third does not.
    await clock.at(moment, async (db) => {
      expect(await memberUsed(db, org.id, member!.userId)).toEqual({ day: WORST, month: WORST });
    });
    await clock.at(moment, (db) => hold(db, member!.keyIds[1]!));
    await expect(clock.at(moment, (db) => hold(db, member!.keyIds[1]!))).rejects.toMatchObject({
      code: "budget_exceeded",
      details: { scope: "member" },
    });
  });

  it("keep counting the calls a member had in flight when removed, once they are invited back and those settle", async () => {
    const org = await organization(100_000n, [{}, { daily: 4_000n }]);
    const [, member] = org.members;
    const moment = clock.after(15 * 3600_000);
    const calls = [randomUUID(), randomUUID()];
    for (const callId of calls) await clock.at(moment, (db) => hold(db, member!.keyIds[0]!, callId));
    await sql`delete from organization_members where organization_id = ${org.id} and user_id = ${member!.userId}`;
    await clock.at(
      moment,
      (db) => db`
      insert into organization_members (organization_id, user_id, role, daily_cap_micros)
      values (${org.id}, ${member!.userId}, 'member', 4000)`,
    );
    // The two holds (3,100) count at once, and still after they settle at their worst case: no third call fits 4,000.
    await clock.at(moment, async (db) => {
      expect((await memberUsed(db, org.id, member!.userId)).day).toBe(2n * WORST);
    });
    await clock.at(moment, (db) =>
      settleUsage(
        db,
        calls.map((callId) =>
          event(member!.keyIds[0]!, callId, {
            completionTokens: MAX_OUT,
            startedAt: moment,
            endedAt: moment,
          }),
        ),
      ),
    );
    await clock.at(moment, async (db) => {
      expect((await memberUsed(db, org.id, member!.userId)).day).toBe(2n * WORST);
    });
    await expect(clock.at(moment, (db) => hold(db, member!.keyIds[1]!))).rejects.toMatchObject({
      code: "budget_exceeded",
      details: { scope: "member" },
    });
  });

  it("refuse new calls with 402 while seat fees are due, and serve again once paid", async () => {
    const org = await organization(100_000n, [{}]);
    await sql`update accounts set seats_due_micros = 5000000 where id = ${org.accountId}`;
    const moment = clock.after(13 * 3600_000);
    await expect(clock.at(moment, (db) => hold(db, org.members[0]!.keyIds[0]!))).rejects.toMatchObject({
      code: "insufficient_balance",
      details: { scope: "seats", seatsDueMicros: 5_000_000n },
    });
    await sql`update accounts set seats_due_micros = 0 where id = ${org.accountId}`;
    await expect(clock.at(moment, (db) => hold(db, org.members[0]!.keyIds[0]!))).resolves.toMatchObject({
      amountMicros: WORST,
    });
  });
});

// Generated sequences of holds and leases by two members (one capped daily and monthly, one uncapped), at moments
// that cross a UTC midnight and a month end: after every step no member's counter passes its cap and the
// organization's available money is never below zero; at the end, with every reservation settled or returned, each
// member's counter equals what their calls reserved in the current window were charged, the balance is the funding
// less every charge, nothing is held, and the ledger balances.
const START_POINTS = [
  "2027-12-31T23:00:00Z", // a year end
  "2028-02-28T23:00:00Z", // into 29 February (a leap day)
  "2028-02-29T23:00:00Z", // out of 29 February, into March
];

const step = fc.record({
  member: fc.integer({ min: 0, max: 1 }),
  kind: fc.constantFrom("hold", "lease"),
  advanceMs: fc.integer({ min: 0, max: 25 * 60_000 }),
  outFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  draws: fc.integer({ min: 0, max: 3 }),
});

describe("generated holds and leases across midnight, month end, year end and 29 February", () => {
  for (const start of START_POINTS) {
    it(`keep every member within their caps from ${start}`, async () => {
      const local = simulatedClock(sql, start);
      // What the generated steps did: the property must have placed holds and granted leases, not only refused.
      const seen = { holds: 0, leases: 0 };
      await local.seedPrice(
        (await sql<{ id: string }[]>`select id from models where public_name = 'fake-small'`)[0]!.id,
      );
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            balance: fc.bigInt({ min: 5_000n, max: 60_000n }),
            daily: fc.bigInt({ min: 0n, max: 20_000n }),
            monthly: fc.bigInt({ min: 0n, max: 30_000n }),
            steps: fc.array(step, { minLength: 4, maxLength: 14 }),
          }),
          async ({ balance, daily, monthly, steps }) => {
            const org = await organization(balance, [{ daily, monthly }, {}]);
            const caps = [
              { daily, monthly },
              { daily: null, monthly: null },
            ];
            let ms = 0;
            for (const s of steps) {
              ms += s.advanceMs;
              const moment = local.after(ms);
              const member = org.members[s.member]!;
              const keyId = member.keyIds[ms % 2]!;
              if (s.kind === "hold") {
                const callId = randomUUID();
                const placed = await local.at(moment, (db) => hold(db, keyId, callId)).catch(refused);
                if (placed) {
                  seen.holds++;
                  const output = Math.floor(MAX_OUT * s.outFraction);
                  await local.at(local.after(ms + 1000), (db) =>
                    settleUsage(db, [
                      event(keyId, callId, {
                        completionTokens: output,
                        promptTokens: PROMPT,
                        startedAt: moment,
                        endedAt: local.after(ms + 1000),
                      }),
                    ]),
                  );
                }
              } else {
                const leaseId = randomUUID();
                const lease = await local
                  .at(moment, (db) =>
                    grantLease(
                      db,
                      {
                        leaseId,
                        keyId,
                        processId: "gen",
                        nonce: randomUUID(),
                        wantMicros: 6n * WORST,
                        minMicros: WORST,
                      },
                      { ttlSeconds: 300 },
                    ),
                  )
                  .catch(refused);
                if (lease) {
                  seen.leases++;
                  const calls = Math.min(s.draws, Number(lease.grantedMicros / WORST));
                  const events = Array.from({ length: calls }, () =>
                    event(keyId, randomUUID(), {
                      completionTokens: Math.floor(MAX_OUT * s.outFraction),
                      promptTokens: PROMPT,
                      leaseId,
                      drawMicros: WORST,
                      startedAt: moment,
                      endedAt: local.after(ms + 500),
                    }),
                  );
                  if (events.length) await local.at(local.after(ms + 500), (db) => settleUsage(db, events));
                  const [left] = await sql<{ reserved: bigint }[]>`
                    select reserved_micros as reserved from leases where id = ${leaseId}`;
                  await local.at(local.after(ms + 600), (db) =>
                    returnLease(db, { leaseId, keyId, unusedMicros: left!.reserved }, { keepSeconds: 0 }),
                  );
                }
              }
              // After every step: no cap passed, nothing below zero.
              await local.at(local.after(ms + 1000), async (db) => {
                for (const [i, m] of org.members.entries()) {
                  const used = await memberUsed(db, org.id, m.userId);
                  if (caps[i]!.daily !== null) expect(used.day).toBeLessThanOrEqual(caps[i]!.daily!);
                  if (caps[i]!.monthly !== null) expect(used.month).toBeLessThanOrEqual(caps[i]!.monthly!);
                }
              });
              const account = await accountRow(org.accountId);
              expect(account.balance - account.held).toBeGreaterThanOrEqual(0n);
            }
            // Everything settled and returned: the counters are exactly the window's charges.
            const end = local.after(ms + 1000);
            await local.at(end, async (db) => {
              for (const m of org.members) {
                const [charged] = await db<{ day: bigint; month: bigint }[]>`
                  select coalesce(sum(u.revenue_micros) filter (
                           where budget_window(coalesce(h.created_at, l.created_at, u.started_at), 'day')
                                 = budget_window(tollgate_now(), 'day')), 0)::bigint as day,
                         coalesce(sum(u.revenue_micros) filter (
                           where budget_window(coalesce(h.created_at, l.created_at, u.started_at), 'month')
                                 = budget_window(tollgate_now(), 'month')), 0)::bigint as month
                  from usage_events u left join holds h on h.id = u.hold_id left join leases l on l.id = u.lease_id
                  where u.account_id = ${org.accountId}
                    and u.key_id in (select id from api_keys where user_id = ${m.userId})`;
                expect(await memberUsed(db, org.id, m.userId)).toEqual(charged);
              }
            });
            const [spent] = await sql<{ total: bigint }[]>`
              select coalesce(sum(revenue_micros), 0)::bigint as total from usage_events
              where account_id = ${org.accountId}`;
            expect(await accountRow(org.accountId)).toEqual({ balance: balance - spent!.total, held: 0n });
            expect(await checkLedgerInvariants(sql, org.accountId)).toEqual([]);
          },
        ),
        { numRuns: 12, endOnFailure: true },
      );
      expect(seen.holds).toBeGreaterThan(10);
      expect(seen.leases).toBeGreaterThan(10);
    }, 120_000);
  }
});
