// Stripe Checkout top-ups on real PostgreSQL: sessions created with the official client against a local fake
// of Stripe's API; webhooks signed with the library's own test-header helper and verified by the real route.
import { randomBytes } from "node:crypto";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { accountOf } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { type FakeStripe, startFakeStripe } from "../helpers/fake-stripe";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const WEBHOOK_SECRET = "whsec_test_tollgate_0123456789abcdef";
const fake: FakeStripe = await startFakeStripe();
process.env.STRIPE_SECRET_KEY = "sk_test_tollgate_fake";
process.env.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET;
process.env.STRIPE_API_URL = fake.url;
const { sql } = await createTestDatabase();
const stripe = new Stripe("sk_test_unused");
let developer: string;
let developerId: string;
let admin: string;

const checkout = () => import("@/app/api/v1/payments/checkout/route");
const webhook = () => import("@/app/api/webhooks/stripe/route");
const payments = () => import("@/app/api/v1/payments/route");
const myPayments = () => import("@/app/api/v1/me/payments/route");

beforeAll(async () => {
  await insertUser(sql, { email: "admin@example.com", role: "admin" });
  developerId = await insertUser(sql, { email: "dev@example.com" });
  admin = await signIn("admin@example.com");
  developer = await signIn("dev@example.com");
});
afterAll(() => fake.close());

const balance = async () => (await accountOf(sql, developerId)).balance_micros;

/** An event as Stripe sends it, signed with the library's helper (optionally at another time). */
async function deliver(
  type: string,
  object: Record<string, unknown>,
  { id = `evt_${randomBytes(8).toString("hex")}`, timestamp }: { id?: string; timestamp?: number } = {},
) {
  const payload = JSON.stringify({
    id,
    object: "event",
    type,
    api_version: "2025-01-01",
    created: 1,
    data: { object },
  });
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET, timestamp });
  const { POST } = await webhook();
  return call(POST, { raw: payload, headers: { "stripe-signature": header }, origin: null });
}

async function openCheckout(amountMicros: number | string) {
  const { POST } = await checkout();
  const res = await call(POST, { cookie: developer, body: { amountMicros } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { ...res.body, session: fake.sessions.at(-1)! } as {
    paymentId: string;
    url: string;
    session: FakeStripe["sessions"][number];
  };
}

const completedSession = (id: string, cents: number, extra: Record<string, unknown> = {}) => ({
  id,
  object: "checkout.session",
  payment_status: "paid",
  amount_total: cents,
  currency: "usd",
  payment_intent: `pi_${id.slice(-12)}`,
  metadata: {},
  ...extra,
});

describe("Stripe Checkout top-ups", () => {
  it("open a Checkout session for the amount in cents, with our account in the metadata", async () => {
    const { url, session, paymentId } = await openCheckout("25000000");
    expect(url).toBe(`${fake.url}/pay/${session.id}`);
    expect(session.authorization).toBe("Bearer sk_test_tollgate_fake");
    expect(session.form.get("mode")).toBe("payment");
    expect(session.form.get("line_items[0][price_data][unit_amount]")).toBe("2500");
    expect(session.form.get("line_items[0][price_data][currency]")).toBe("usd");
    expect(session.form.get("metadata[paymentId]")).toBe(paymentId);
    expect(session.idempotencyKey).toBe(`checkout:${paymentId}`);
    const [row] = await sql`select status, amount_micros from payments where id = ${paymentId}`;
    expect(row).toEqual({ status: "pending", amount_micros: 25_000_000n });
  });

  it("refuse amounts outside the admin's bounds or not in whole cents, and credit nothing for opening one", async () => {
    const { POST } = await checkout();
    for (const amountMicros of [1_000_000, "600000000", "5000001", true])
      expect((await call(POST, { cookie: developer, body: { amountMicros } })).status).toBe(422);
    expect(await balance()).toBe(0n);
  });

  it("credit exactly once what Stripe says was paid, even delivered three times and out of order", async () => {
    const { session } = await openCheckout("10000000");
    const before = await balance();
    const event = completedSession(session.id, 1000);
    // The expiry of an older session and the completion, in either order, the completion three times.
    const id = `evt_${randomBytes(8).toString("hex")}`;
    const results = [
      await deliver("checkout.session.completed", event, { id }),
      await deliver("checkout.session.expired", { ...event, payment_status: "unpaid" }),
      await deliver("checkout.session.completed", event, { id }),
      await deliver("checkout.session.completed", event),
    ];
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(results[2]!.body.duplicate).toBe(true);
    expect(await balance()).toBe(before + 10_000_000n);
    const [payment] =
      await sql`select status, paid_micros from payments where stripe_session_id = ${session.id}`;
    expect(payment).toEqual({ status: "paid", paid_micros: 10_000_000n });
    const audit =
      await sql`select action, after from audit_log where action = 'account.topup' and target_type = 'account'`;
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("credit the amount from Stripe's event, never the one asked for, and only in USD", async () => {
    const { session } = await openCheckout("10000000");
    const before = await balance();
    await deliver("checkout.session.completed", completedSession(session.id, 700));
    expect(await balance()).toBe(before + 7_000_000n);
    const eur = await openCheckout("10000000");
    await deliver("checkout.session.completed", completedSession(eur.session.id, 1000, { currency: "eur" }));
    expect(await balance()).toBe(before + 7_000_000n);
    const [row] =
      await sql`select status, failure_reason from payments where stripe_session_id = ${eur.session.id}`;
    expect(row).toEqual({ status: "failed", failure_reason: "currency eur is not accepted" });
  });

  it("write nothing for a forged, stale or missing signature", async () => {
    const { session } = await openCheckout("10000000");
    const before = await balance();
    const payload = JSON.stringify({
      id: "evt_forged",
      object: "event",
      type: "checkout.session.completed",
      data: { object: completedSession(session.id, 1000) },
    });
    const { POST } = await webhook();
    const forged = stripe.webhooks.generateTestHeaderString({ payload, secret: "whsec_not_ours" });
    expect(
      (await call(POST, { raw: payload, headers: { "stripe-signature": forged }, origin: null })).status,
    ).toBe(401);
    expect((await call(POST, { raw: payload, origin: null })).status).toBe(401);
    const stale = await deliver("checkout.session.completed", completedSession(session.id, 1000), {
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    expect(stale.status).toBe(401);
    expect(await balance()).toBe(before);
    expect(await sql`select 1 from stripe_events where event_id = 'evt_forged'`).toEqual([]);
  });

  it("take refunds and lost disputes back as reasoned adjustments, once each", async () => {
    const { session } = await openCheckout("20000000");
    await deliver("checkout.session.completed", completedSession(session.id, 2000));
    const after = await balance();
    const pi = `pi_${session.id.slice(-12)}`;
    // A partial refund of $5, delivered twice, then the full refund ($20 cumulative).
    const partial = {
      id: "ch_partial",
      object: "charge",
      payment_intent: pi,
      amount_refunded: 500,
      currency: "usd",
    };
    await deliver("charge.refunded", partial);
    await deliver("charge.refunded", partial);
    expect(await balance()).toBe(after - 5_000_000n);
    await deliver("charge.refunded", { ...partial, amount_refunded: 2000 });
    expect(await balance()).toBe(after - 20_000_000n);
    const [row] =
      await sql`select status, refunded_micros from payments where stripe_session_id = ${session.id}`;
    expect(row).toEqual({ status: "refunded", refunded_micros: 20_000_000n });

    const disputed = await openCheckout("10000000");
    await deliver("checkout.session.completed", completedSession(disputed.session.id, 1000));
    const beforeDispute = await balance();
    const dispute = {
      id: "dp_1",
      object: "dispute",
      status: "lost",
      amount: 1000,
      payment_intent: `pi_${disputed.session.id.slice(-12)}`,
    };
    await deliver("charge.dispute.closed", { ...dispute, status: "won", id: "dp_0" });
    expect(await balance()).toBe(beforeDispute);
    await deliver("charge.dispute.closed", dispute);
    expect(await balance()).toBe(beforeDispute - 10_000_000n);
    const reasons = await sql`
      select t.reason from ledger_transactions t where t.kind = 'adjustment' order by t.created_at`;
    expect(reasons.map((r) => r.reason)).toEqual([
      "Card refund (Stripe ch_partial)",
      "Card refund (Stripe ch_partial)",
      "Card dispute lost (Stripe dp_1)",
    ]);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("ask Stripe to deliver again a refund that arrives before its payment", async () => {
    const res = await deliver("charge.refunded", {
      id: "ch_early",
      object: "charge",
      payment_intent: "pi_unknown",
      amount_refunded: 100,
      currency: "usd",
    });
    expect(res.status).toBe(409);
    expect(
      await sql`select 1 from stripe_events where type = 'charge.refunded' and event_id = ${res.body.eventId ?? "none"}`,
    ).toEqual([]);
  });

  it("are listed for admins, and each developer sees their own", async () => {
    const all = await call((await payments()).GET, { cookie: admin });
    expect(all.body.items.length).toBeGreaterThanOrEqual(5);
    const mine = await call((await myPayments()).GET, { cookie: developer });
    expect(mine.body.items.every((p: { userEmail: string }) => p.userEmail === "dev@example.com")).toBe(true);
    expect((await call((await payments()).GET, { cookie: developer })).status).toBe(403);
  });
});
