// Charges and reservations are separate figures (issue 26): what a key and its account were charged today and this
// month (settled calls only) beside what their live holds and leases reserve, as the key usage API
// (`GET /api/v1/key`), the keys list and the account read them. On real PostgreSQL, with the numbers.
import { randomUUID } from "node:crypto";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { grantLease } from "@/lib/billing/leases";
import { getAccount } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { config } from "@/lib/config";
import { selectKey } from "@/lib/keys/access";
import { generateKeySecret, hashKey, keyPrefix } from "@/lib/keys/secret";
import { accountOf, event, PRICE, seedPricedModel, topUp } from "../helpers/billing";
import { clearOfMidnight } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { priceTokens } from "../helpers/price";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const keyRoute = () => import("@/app/api/v1/key/route");
const TTL = 60;
const CALL = priceTokens({ input: 100, output: 50 }, PRICE); // 125 micro-USD
let adminId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await seedPricedModel(sql);
});

// The figures are the UTC day's: start clear of midnight by more than a lease's validity.
beforeEach(() => clearOfMidnight(sql, TTL + 10), (TTL + 30) * 1000);

/** A developer with a funded account and a key whose secret the test knows. */
async function customer(balance: bigint) {
  const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
  const secret = generateKeySecret();
  const [key] = await sql<{ id: string }[]>`
    insert into api_keys (user_id, name, prefix, key_hash)
    values (${userId}, 'app', ${keyPrefix(secret)}, ${hashKey(secret, config().KEY_PEPPER)}) returning id`;
  const account = await accountOf(sql, userId);
  await topUp(sql, adminId, account.id, balance);
  return { userId, keyId: key!.id, accountId: account.id, secret };
}

async function keyApi(secret: string) {
  const { default: _, ...handlers } = (await keyRoute()) as Record<string, unknown>;
  const res = await call(handlers.GET as never, { headers: { authorization: `Bearer ${secret}` } });
  expect(res.status).toBe(200);
  return res.body as {
    key: Record<string, number>;
    account: Record<string, number>;
  };
}

describe("charged today vs reserved", () => {
  it("after a lease grant and one settled call: charged is the call's charge, reserved what the lease holds", async () => {
    const c = await customer(1_000_000n);
    const lease = await grantLease(
      sql,
      {
        leaseId: randomUUID(),
        keyId: c.keyId,
        processId: "proc-1",
        nonce: "n1",
        wantMicros: 300_000n,
        minMicros: 1_000n,
      },
      { ttlSeconds: TTL },
    );
    expect(lease.grantedMicros).toBe(300_000n);
    const draw = 2_000n;
    await settleUsage(sql, [event(c.keyId, "call-1", { leaseId: lease.leaseId, drawMicros: draw })]);
    const leaseHolds = 300_000n - draw;

    const state = await keyApi(c.secret);
    expect(state.key).toMatchObject({
      todayChargedMicros: Number(CALL),
      monthChargedMicros: Number(CALL),
      reservedMicros: Number(leaseHolds),
      // What the budgets count: the charge plus what is still reserved today (unchanged meaning).
      todaySpentMicros: Number(CALL + leaseHolds),
      monthSpentMicros: Number(CALL + leaseHolds),
    });
    expect(state.account).toMatchObject({
      todayChargedMicros: Number(CALL),
      monthChargedMicros: Number(CALL),
      reservedMicros: Number(leaseHolds),
      heldMicros: Number(leaseHolds),
      todaySpentMicros: Number(CALL + leaseHolds),
      balanceMicros: Number(1_000_000n - CALL),
      availableMicros: Number(1_000_000n - CALL - leaseHolds),
    });

    // The account page reads the same figures.
    expect(await getAccount(sql, { id: c.accountId })).toMatchObject({
      dayChargedMicros: CALL,
      monthChargedMicros: CALL,
      heldMicros: leaseHolds,
      dayUsedMicros: CALL + leaseHolds,
    });
  });

  it("a call in progress (an open hold) is reserved, not charged; once settled it is charged, not reserved", async () => {
    const c = await customer(1_000_000n);
    const hold = await placeHold(sql, {
      keyId: c.keyId,
      callId: "held-call",
      nonce: randomUUID(),
      model: "fake-small",
      promptTokens: 100,
      maxOutputTokens: 100,
    });
    const state = await keyApi(c.secret);
    expect(state.key).toMatchObject({
      todayChargedMicros: 0,
      reservedMicros: Number(hold.amountMicros),
      todaySpentMicros: Number(hold.amountMicros),
    });
    expect(state.account).toMatchObject({ todayChargedMicros: 0, reservedMicros: Number(hold.amountMicros) });

    await settleUsage(sql, [event(c.keyId, "held-call")]);
    // A second key on the same account: the account's figures sum both keys, each key only its own.
    const [other] = await sql<{ id: string }[]>`
      insert into api_keys (user_id, name, prefix, key_hash)
      values (${c.userId}, 'other', 'tg_other', ${Buffer.from(randomUUID())}) returning id`;
    await settleUsage(sql, [event(other!.id, "other-call")]);
    // The key API answers from a 5 s cache: read the settled figures as the keys list and the account page do.
    expect(await selectKey(sql, c.keyId)).toMatchObject({
      todayChargedMicros: CALL,
      monthChargedMicros: CALL,
      reservedMicros: 0n,
      todaySpentMicros: CALL,
    });
    expect(await getAccount(sql, { id: c.accountId })).toMatchObject({
      dayChargedMicros: 2n * CALL,
      heldMicros: 0n,
      dayUsedMicros: 2n * CALL,
    });
  });
});
