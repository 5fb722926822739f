// A batch's transaction ended by PostgreSQL to break a deadlock is tried again whole (lib/billing/settle.ts): two
// batches with no key or account in common can meet on the roll-ups both upsert (a user's per-day row when the user
// has keys in both, an hour's row). The deadlock is made here by a trigger that fails the batch's claim with 40P01
// the first times it runs (a sequence counts them: it is not rolled back with the transaction).
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { inTransaction } from "@/lib/db/client";
import { event, fundedCustomer, seedPricedModel } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
let adminId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await seedPricedModel(sql);
  await sql`create sequence test_deadlocks`;
  await sql`create table test_deadlock_budget (failures int not null)`;
  await sql`insert into test_deadlock_budget values (0)`;
  // Fails the claim while the sequence is below the budget: the first `failures` tries of a batch end in 40P01.
  await sql`
    create function test_deadlock() returns trigger language plpgsql as $$
    begin
      if nextval('test_deadlocks') <= (select failures from test_deadlock_budget) then
        raise exception 'deadlock detected (test)' using errcode = '40P01';
      end if;
      return null;
    end $$`;
  await sql`create trigger test_deadlock after insert on usage_calls for each statement execute function test_deadlock()`;
});

afterEach(async () => {
  await sql`update test_deadlock_budget set failures = 0`;
});

const customer = (email: string) => fundedCustomer(sql, adminId, email);

/** Makes the next `n` tries fail with 40P01; returns a reader of how many tries ran since. */
async function deadlocks(n: number) {
  const [row] = await sql<{ v: number }[]>`select nextval('test_deadlocks')::int as v`;
  const v = row!.v;
  await sql`update test_deadlock_budget set failures = ${v + n}`;
  return async () => {
    const [last] = await sql<{ n: number }[]>`select last_value::int as n from test_deadlocks`;
    return last!.n - v;
  };
}

async function balance(accountId: string) {
  const [row] = await sql<{ b: bigint }[]>`select balance_micros as b from accounts where id = ${accountId}`;
  return row!.b;
}

describe("a batch ended by a deadlock", () => {
  it("is tried again and charged once", async () => {
    const c = await customer("retry@example.com");
    const before = await balance(c.accountId);
    const tries = await deadlocks(2);
    const result = await settleUsage(sql, [event(c.keyId, "dl-1"), event(c.keyId, "dl-2")]);
    expect(await tries()).toBe(3); // two ended by the deadlock, the third committed
    expect(result.inserted).toBe(2);
    expect(result.chargedMicros).toBeGreaterThan(0n);
    expect(before - (await balance(c.accountId))).toBe(result.chargedMicros);
    const [claims] = await sql<{ n: number }[]>`
      select count(*)::int as n from usage_calls where key_id = ${c.keyId}`;
    expect(claims!.n).toBe(2);
    // The same batch again changes nothing.
    const again = await settleUsage(sql, [event(c.keyId, "dl-1"), event(c.keyId, "dl-2")]);
    expect(again.inserted).toBe(0);
    expect(again.chargedMicros).toBe(0n);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("fails after four tries with nothing kept", async () => {
    const c = await customer("gives-up@example.com");
    const before = await balance(c.accountId);
    const tries = await deadlocks(100);
    await expect(settleUsage(sql, [event(c.keyId, "dl-never")])).rejects.toMatchObject({ code: "40P01" });
    expect(await tries()).toBe(4);
    expect(await balance(c.accountId)).toBe(before);
    const [claims] = await sql<{ n: number }[]>`
      select count(*)::int as n from usage_calls where key_id = ${c.keyId}`;
    expect(claims!.n).toBe(0);
  });

  it("inside a caller's transaction goes up at once (the webhook answers 500; the outbox sends the batch again)", async () => {
    const c = await customer("in-tx@example.com");
    const tries = await deadlocks(1);
    await expect(
      inTransaction(sql, (tx) => settleUsage(tx, [event(c.keyId, "dl-tx")])),
    ).rejects.toMatchObject({
      code: "40P01",
    });
    expect(await tries()).toBe(1);
  });
});
