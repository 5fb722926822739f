// Low-balance notices on real PostgreSQL, through the queue, to a real SMTP server started here (smtp-server):
// one email per crossing below the threshold, re-armed by a top-up, retried when SMTP fails, every send logged.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settleUsage } from "@/lib/billing/settle";
import { drain } from "@/lib/settlement/drain";
import { accountOf, event, insertKey, seedPricedModel, topUp } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { startMailbox } from "../helpers/mailbox";
import { insertUser, signIn } from "../helpers/users";

const mailbox = await startMailbox();
const received = mailbox.received;
process.env.SMTP_URL = mailbox.url;
const { sql } = await createTestDatabase();
let adminId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await seedPricedModel(sql);
  // Alerts below $1.00 (the default threshold).
  await sql`update billing_settings set low_balance_micros = 1000000`;
});
afterAll(() => mailbox.close());

const runQueue = () =>
  drain(sql, { budgetMs: 5_000, replay: async () => [], policy: "release", graceMinutes: 60 });

async function developer(balanceMicros: bigint) {
  const email = `${randomUUID()}@example.com`;
  const userId = await insertUser(sql, { email });
  const keyId = await insertKey(sql, userId);
  const account = await accountOf(sql, userId);
  await topUp(sql, adminId, account.id, balanceMicros);
  return { email, userId, keyId, accountId: account.id };
}

/** A charge of about `micros` (prompt tokens at $0.50 per million). */
const spend = (keyId: string, micros: number) =>
  settleUsage(sql, [event(keyId, randomUUID(), { promptTokens: micros * 2, completionTokens: 0 })]);

describe("low-balance notices", () => {
  it("email once when the balance crosses below the threshold, again only after a top-up re-arms it", async () => {
    const d = await developer(1_500_000n);
    await spend(d.keyId, 400_000); // $1.10 left: above
    await runQueue();
    expect(received.filter((m) => m.to === d.email)).toHaveLength(0);
    await spend(d.keyId, 200_000); // $0.90: crossed
    await spend(d.keyId, 100_000); // $0.80: still below, no second email
    await runQueue();
    const first = received.filter((m) => m.to === d.email);
    expect(first).toHaveLength(1);
    expect(first[0]!.subject).toBe("Your Tollgate balance is low: $0.800000 left");
    expect(first[0]!.body).toContain("/account/billing");
    // A top-up above the threshold re-arms; the next crossing is told again.
    await topUp(sql, adminId, d.accountId, 1_000_000n); // $1.80
    await spend(d.keyId, 900_000); // $0.90
    await runQueue();
    expect(received.filter((m) => m.to === d.email)).toHaveLength(2);
    const log =
      await sql`select status, recipient from notifications where account_id = ${d.accountId} order by id`;
    expect(log).toEqual([
      { status: "sent", recipient: d.email },
      { status: "sent", recipient: d.email },
    ]);
  });

  it("retries through the queue when SMTP refuses, and logs each attempt", async () => {
    const d = await developer(1_200_000n);
    mailbox.refuseAll(true);
    await spend(d.keyId, 400_000);
    await runQueue();
    expect(received.filter((m) => m.to === d.email)).toHaveLength(0);
    const [job] =
      await sql`select state, attempts from queue_jobs where name = 'notify.low_balance' and payload->>'accountId' = ${d.accountId}`;
    expect(job).toMatchObject({ state: "retry", attempts: 1 });
    mailbox.refuseAll(false);
    await sql`update queue_jobs set run_after = now() where name = 'notify.low_balance' and state = 'retry'`;
    await runQueue();
    expect(received.filter((m) => m.to === d.email)).toHaveLength(1);
    const log = await sql`select status from notifications where account_id = ${d.accountId} order by id`;
    expect(log.map((r) => r.status)).toEqual(["failed", "sent"]);
  });

  it("use an account's own threshold when an admin set one", async () => {
    const d = await developer(3_000_000n);
    const { PATCH } = await import("@/app/api/v1/accounts/[id]/route");
    const admin = await signIn("admin@example.com");
    const res = await call(PATCH, {
      method: "PATCH",
      cookie: admin,
      params: { id: d.accountId },
      body: { lowBalanceMicros: "2500000" },
    });
    expect(res.body.account).toMatchObject({ lowBalanceMicros: 2_500_000, ownLowBalanceMicros: 2_500_000 });
    await spend(d.keyId, 600_000); // $2.40: below its own $2.50, above the $1.00 default
    await runQueue();
    expect(received.filter((m) => m.to === d.email)).toHaveLength(1);
  });

  it("show a banner on the developer's balance page data while below", async () => {
    const d = await developer(500_000n);
    const cookie = await signIn(d.email);
    const { GET } = await import("@/app/api/v1/account/route");
    const res = await call(GET, { cookie });
    expect(res.body.account).toMatchObject({ balanceMicros: 500_000, lowBalanceMicros: 1_000_000 });
  });
});
