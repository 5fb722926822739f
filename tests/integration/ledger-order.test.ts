// An account's statement reads newest first with the balance after each entry, also where entry ids gain a digit
// (…, 99, 100, …): ordered by the entries' numbers, not by their text ('99' would sort after '100'). An organization's
// billing page showed a grant above the seat fees paid from it when their ids crossed 1,000.
import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { accountLedger, checkLedgerInvariants, creditAccount, LEDGER_LINES_MAX } from "@/lib/billing/ledger";
import { createTestDatabase } from "../helpers/db";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();

it("lists entries newest first, with running balances, across ids of more digits", async () => {
  const userId = await insertUser(sql, { email: `ledger-order-${randomUUID()}@example.com` });
  const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${userId}`;
  // This file's own database: the next entries are numbered 95, 96, … past 100.
  await sql`alter table ledger_entries alter column id restart with 95`;
  const amounts = [1_000_000n, 2_000_000n, 3_000_000n, 4_000_000n, 5_000_000n, 6_000_000n];
  for (const [i, amountMicros] of amounts.entries()) {
    await creditAccount(
      sql,
      { userId: null, kind: "system" },
      {
        accountId: account!.id,
        amountMicros,
        kind: "grant",
        reason: `credit ${i + 1}`,
        idempotencyKey: randomUUID(),
      },
    );
  }
  const ids = await sql<{ id: string }[]>`
    select id::text from ledger_entries where account_id = ${account!.id} order by id`;
  expect(ids.some((r) => r.id.length === 2) && ids.some((r) => r.id.length === 3)).toBe(true);

  const { items, total, capped } = await accountLedger(sql, account!.id, { page: 1, pageSize: 20 });
  expect([total, capped]).toEqual([6, false]);
  expect(items.map((e) => [e.reason, e.amountMicros, BigInt(e.runningBalanceMicros)])).toEqual([
    ["credit 6", 6_000_000n, 21_000_000n],
    ["credit 5", 5_000_000n, 15_000_000n],
    ["credit 4", 4_000_000n, 10_000_000n],
    ["credit 3", 3_000_000n, 6_000_000n],
    ["credit 2", 2_000_000n, 3_000_000n],
    ["credit 1", 1_000_000n, 1_000_000n],
  ]);
  // Pages split the same order.
  const second = await accountLedger(sql, account!.id, { page: 2, pageSize: 4 });
  expect(second.items.map((e) => e.reason)).toEqual(["credit 2", "credit 1"]);
});

it("reaches the newest LEDGER_LINES_MAX entries, each with its balance after, and says when there are more; deeper pages are refused", async () => {
  const userId = await insertUser(sql, { email: `ledger-cap-${randomUUID()}@example.com` });
  const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${userId}`;
  // One past the cap: grants of 1, 2, …, n micro-USD, each its own transaction as creditAccount writes it.
  const n = LEDGER_LINES_MAX + 1;
  await sql.begin(async (tx) => {
    await tx`
      with t as (
        insert into ledger_transactions (kind, idempotency_key, reason)
        select 'grant', 'grant:' || gen_random_uuid(), g::text from generate_series(1, ${n}::int) g
        returning id, reason::bigint as g
      )
      insert into ledger_entries (transaction_id, account_id, amount_micros)
      select t.id, x.account_id, x.amount from t
      cross join lateral (values (${account!.id}::uuid, t.g),
                                 ((select id from accounts where code = 'grants'), -t.g)) x(account_id, amount)
      order by t.g, x.amount desc`;
    await tx`update accounts set balance_micros = balance_micros + ${n}::bigint * (${n} + 1) / 2 where id = ${account!.id}`;
  });
  expect(await checkLedgerInvariants(sql)).toEqual([]);
  const first = await accountLedger(sql, account!.id, { page: 1, pageSize: 20 });
  expect(first).toMatchObject({ total: LEDGER_LINES_MAX, capped: true });
  // Entry k (of 1 … n, newest last) leaves the balance at 1 + 2 + … + k.
  const after = (k: number) => (BigInt(k) * BigInt(k + 1)) / 2n;
  expect(first.items.slice(0, 3).map((e) => [e.amountMicros, BigInt(e.runningBalanceMicros)])).toEqual([
    [BigInt(n), after(n)],
    [BigInt(n - 1), after(n - 1)],
    [BigInt(n - 2), after(n - 2)],
  ]);
  const last = await accountLedger(sql, account!.id, { page: LEDGER_LINES_MAX / 200, pageSize: 200 });
  expect(last.items.at(-1)).toMatchObject({ amountMicros: 2n });
  expect(BigInt(last.items.at(-1)!.runningBalanceMicros)).toBe(after(2));
  await expect(
    accountLedger(sql, account!.id, { page: LEDGER_LINES_MAX / 200 + 1, pageSize: 200 }),
  ).rejects.toMatchObject({
    code: "validation_failed",
  });
});
