// A key's lease epoch changes with every change that could narrow what its leases may spend (clause 36), however
// the nulls fall; and a rotated key keeps the spending limits its owner set.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountOf, seedPricedModel } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const GATEWAY = { authorization: `Bearer ${process.env.GATEWAY_SECRET}` };
const X = 750_000;

let aliceId: string;
let alice = "";

beforeAll(async () => {
  aliceId = await insertUser(sql, { email: "alice@example.com" });
  alice = await signIn("alice@example.com");
  await seedPricedModel(sql, "fake-small");
});
afterAll(async () => {
  await sql.end();
});

async function aliceKey(name: string) {
  const res = await call((await import("@/app/api/v1/keys/route")).POST, { cookie: alice, body: { name } });
  expect(res.status).toBe(201);
  return res.body as { key: { id: string }; secret: string };
}
const patch = async (id: string, body: unknown) =>
  call((await import("@/app/api/v1/keys/[id]/route")).PATCH, {
    method: "PATCH",
    cookie: alice,
    params: { id },
    body,
  });
async function epoch(secret: string): Promise<string> {
  const res = await call((await import("@/app/api/internal/gateway/auth/route")).POST, {
    headers: GATEWAY,
    body: { key: secret },
  });
  expect(res.status).toBe(200);
  return res.body.key.leaseEpoch as string;
}

describe("the lease epoch", () => {
  it("changes when a key's budget moves from daily to monthly (the same amount, the other field null)", async () => {
    const { key, secret } = await aliceKey("moved budget");
    expect((await patch(key.id, { dailyBudgetMicros: X })).status).toBe(200);
    const daily = await epoch(secret);
    expect((await patch(key.id, { dailyBudgetMicros: null, monthlyBudgetMicros: X })).status).toBe(200);
    expect(await epoch(secret)).not.toBe(daily);
  });

  it("changes when an account's budget moves between fields, or a limit moves from the key to the account", async () => {
    const { key, secret } = await aliceKey("account budgets");
    const account = (await accountOf(sql, aliceId)).id;
    await sql`update accounts set daily_budget_micros = ${X}, monthly_budget_micros = null where id = ${account}`;
    const accountDaily = await epoch(secret);
    await sql`update accounts set daily_budget_micros = null, monthly_budget_micros = ${X} where id = ${account}`;
    const accountMonthly = await epoch(secret);
    expect(accountMonthly).not.toBe(accountDaily);

    await sql`update accounts set daily_budget_micros = null, monthly_budget_micros = null where id = ${account}`;
    await sql`update api_keys set daily_budget_micros = null, monthly_budget_micros = ${X} where id = ${key.id}`;
    const onKey = await epoch(secret);
    await sql`update api_keys set monthly_budget_micros = null where id = ${key.id}`;
    await sql`update accounts set daily_budget_micros = ${X} where id = ${account}`;
    expect(await epoch(secret)).not.toBe(onKey);
    await sql`update accounts set daily_budget_micros = null where id = ${account}`;
  });
});

describe("rotating a key", () => {
  it("keeps its daily and monthly budgets", async () => {
    const { key } = await aliceKey("budgeted then rotated");
    expect(
      (await patch(key.id, { dailyBudgetMicros: 1_000_000, monthlyBudgetMicros: 5_000_000 })).status,
    ).toBe(200);
    const rotated = await call((await import("@/app/api/v1/keys/[id]/rotate/route")).POST, {
      cookie: alice,
      params: { id: key.id },
    });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key).toMatchObject({ dailyBudgetMicros: 1_000_000, monthlyBudgetMicros: 5_000_000 });
    const [row] = await sql<{ daily: string; monthly: string }[]>`
      select daily_budget_micros::text as daily, monthly_budget_micros::text as monthly
      from api_keys where id = ${rotated.body.key.id}`;
    expect(row).toEqual({ daily: "1000000", monthly: "5000000" });
  });
});
