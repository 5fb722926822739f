// An account's statement reads newest first with the balance after each entry, also where entry ids gain a digit
// (…, 99, 100, …): ordered by the entries' numbers, not by their text ('99' would sort after '100'). An organization's
// billing page showed a grant above the seat fees paid from it when their ids crossed 1,000.
import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { accountLedger, creditAccount } from "@/lib/billing/ledger";
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

  const { items, total } = await accountLedger(sql, account!.id, { page: 1, pageSize: 20 });
  expect(total).toBe(6);
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
