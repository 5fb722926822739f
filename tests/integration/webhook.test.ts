// The usage webhook: signature, time window and schema are checked before anything is written.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { signWebhook } from "@/lib/http/webhook-signature";
import { accountOf, event, insertKey, seedPricedModel, topUp } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const SECRET = process.env.WEBHOOK_SECRET!;
let keyId: string;
let userId: string;

beforeAll(async () => {
  const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  userId = await insertUser(sql, { email: "dev@example.com" });
  await seedPricedModel(sql);
  await topUp(sql, adminId, (await accountOf(sql, userId)).id, 1_000_000n);
  keyId = await insertKey(sql, userId);
});

async function post(body: string, signature: string | null) {
  const { POST } = await import("@/app/api/webhooks/litellm/route");
  return call(POST, { raw: body, headers: signature ? { "x-tollgate-signature": signature } : {} });
}

async function rows() {
  const [r] =
    await sql`select (select count(*)::int from usage_events) as usage, (select count(*)::int from ledger_entries) as entries`;
  return r;
}

describe("usage webhook", () => {
  it("accepts a signed batch and settles it", async () => {
    const body = JSON.stringify({ events: [event(keyId, randomUUID())] });
    const res = await post(body, signWebhook(SECRET, body));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ received: 1, inserted: 1, chargedMicros: 125 });
    expect((await accountOf(sql, userId)).balance_micros).toBe(1_000_000n - 125n);
  });

  const bad: [string, () => [string, string | null], number, string][] = [
    [
      "a forged signature",
      () => {
        const b = JSON.stringify({ events: [event(keyId, randomUUID())] });
        return [b, signWebhook("not-the-secret-not-the-secret-xx", b)];
      },
      401,
      "invalid_signature",
    ],
    [
      "a body changed after signing",
      () => {
        const b = JSON.stringify({ events: [event(keyId, randomUUID())] });
        return [b.replace('"completionTokens":50', '"completionTokens":1'), signWebhook(SECRET, b)];
      },
      401,
      "invalid_signature",
    ],
    [
      "a stale timestamp (replay)",
      () => {
        const b = JSON.stringify({ events: [event(keyId, randomUUID())] });
        return [b, signWebhook(SECRET, b, Math.floor(Date.now() / 1000) - 301)];
      },
      401,
      "invalid_signature",
    ],
    [
      "a missing signature",
      () => [JSON.stringify({ events: [event(keyId, randomUUID())] }), null],
      401,
      "invalid_signature",
    ],
    ["malformed JSON", () => ['{"events": [', signWebhook(SECRET, '{"events": [')], 400, "invalid_json"],
    [
      "a wrong type",
      () => {
        const b = JSON.stringify({ events: [{ ...event(keyId, randomUUID()), promptTokens: "100" }] });
        return [b, signWebhook(SECRET, b)];
      },
      422,
      "validation_failed",
    ],
    [
      "an unknown status",
      () => {
        const b = JSON.stringify({ events: [{ ...event(keyId, randomUUID()), status: "free" }] });
        return [b, signWebhook(SECRET, b)];
      },
      422,
      "validation_failed",
    ],
    [
      "negative tokens",
      () => {
        const b = JSON.stringify({ events: [{ ...event(keyId, randomUUID()), completionTokens: -5 }] });
        return [b, signWebhook(SECRET, b)];
      },
      422,
      "validation_failed",
    ],
    [
      "an unknown field",
      () => {
        const b = JSON.stringify({ events: [{ ...event(keyId, randomUUID()), free: true }] });
        return [b, signWebhook(SECRET, b)];
      },
      422,
      "validation_failed",
    ],
    [
      "an empty batch",
      () => {
        const b = JSON.stringify({ events: [] });
        return [b, signWebhook(SECRET, b)];
      },
      422,
      "validation_failed",
    ],
  ];
  for (const [name, make, status, code] of bad) {
    it(`refuses ${name} with ${status}, writing nothing`, async () => {
      const before = await rows();
      const balance = (await accountOf(sql, userId)).balance_micros;
      const [body, signature] = make();
      const res = await post(body, signature);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(await rows()).toEqual(before);
      expect((await accountOf(sql, userId)).balance_micros).toBe(balance);
    });
  }

  it("ignores events for keys it does not know, without failing the batch", async () => {
    const known = randomUUID();
    const body = JSON.stringify({ events: [event(randomUUID(), "ghost"), event(keyId, known)] });
    const res = await post(body, signWebhook(SECRET, body));
    expect(res.body).toMatchObject({ inserted: 1, unknownKeys: 1 });
  });
});
