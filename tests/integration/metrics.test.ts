// /api/metrics on real PostgreSQL: a token-protected Prometheus scrape with request rates and latency per route,
// holds by outcome, usage events and webhook lag, and the queue, open holds and last settlement read from the db.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { signWebhook } from "@/lib/http/webhook-signature";
import { event, insertKey, seedPricedModel, topUp } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const TOKEN = "metrics-token-0123456789abcdef";
process.env.METRICS_TOKEN = TOKEN;
const { sql } = await createTestDatabase();
let keyId: string;

const metricsRoute = () => import("@/app/api/metrics/route");

beforeAll(async () => {
  const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  const dev = await insertUser(sql, { email: "dev@example.com" });
  await seedPricedModel(sql);
  keyId = await insertKey(sql, dev);
  const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${dev}`;
  await topUp(sql, adminId, account!.id, 30n);
  await sql`insert into queue_jobs (name, state, completed_at, attempts) values ('settlement.chunk', 'dead', now(), 5)`;
});

async function scrape() {
  const { GET } = await metricsRoute();
  return call(GET, { headers: { authorization: `Bearer ${TOKEN}` } });
}

/** The value of one series in Prometheus' text format. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : undefined;
}

describe("/api/metrics", () => {
  it("refuses a missing or wrong token", async () => {
    const { GET } = await metricsRoute();
    expect((await call(GET, {})).status).toBe(401);
    expect((await call(GET, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
  });

  it("counts requests per route and status, holds by outcome, usage events, and reads the db gauges", async () => {
    const cookie = await signIn("dev@example.com");
    const me = (await import("@/app/api/v1/me/route")).GET;
    for (let i = 0; i < 3; i++) await call(me, { cookie, path: "/api/v1/me" });
    await call(me, { path: "/api/v1/me" }); // 401
    const holds = (await import("@/app/api/internal/gateway/holds/route")).POST;
    const gateway = { authorization: `Bearer ${process.env.GATEWAY_SECRET}` };
    const hold = (callId: string) =>
      call(holds, {
        path: "/api/internal/gateway/holds",
        headers: gateway,
        body: { keyId, callId, nonce: callId, model: "fake-small", promptTokens: 10, maxOutputTokens: 10 },
      });
    expect((await hold(randomUUID())).status).toBe(200);
    const refused = await hold(randomUUID());
    expect(refused.status).toBe(402); // 30 µ$ covers one 20 µ$ hold, not two
    const webhook = (await import("@/app/api/webhooks/litellm/route")).POST;
    const body = JSON.stringify({ events: [event(keyId, randomUUID())] });
    await call(webhook, {
      path: "/api/webhooks/litellm",
      raw: body,
      headers: { "x-tollgate-signature": signWebhook(process.env.WEBHOOK_SECRET!, body) },
      origin: null,
    });

    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = res.body as string;
    expect(value(text, 'tollgate_http_requests_total{route="/api/v1/me",method="GET",status="200"}')).toBe(3);
    expect(value(text, 'tollgate_http_requests_total{route="/api/v1/me",method="GET",status="401"}')).toBe(1);
    expect(text).toContain(
      'tollgate_http_request_duration_seconds_bucket{le="0.005",route="/api/v1/me",method="GET"}',
    );
    expect(value(text, 'tollgate_holds_total{outcome="placed"}')).toBe(1);
    expect(value(text, 'tollgate_holds_total{outcome="insufficient_balance"}')).toBe(1);
    expect(value(text, 'tollgate_usage_events_total{result="inserted"}')).toBe(1);
    expect(value(text, "tollgate_webhook_lag_seconds_count")).toBe(1);
    expect(value(text, 'tollgate_queue_jobs{state="dead"}')).toBe(1);
    expect(value(text, 'tollgate_open_holds{measure="count"}')).toBe(1);
    expect(value(text, "tollgate_process_cpu_seconds_total")).toBeGreaterThan(0);
  });

  it("labels a route by its dynamic segments' names, never their values (invitation tokens, slugs)", async () => {
    const cookie = await signIn("dev@example.com");
    const token = "Zx9-secret_invitation_token_value_0123456789ab";
    const invitation = (await import("@/app/api/v1/invitations/[token]/route")).GET;
    const accept = (await import("@/app/api/v1/invitations/[token]/accept/route")).POST;
    const org = (await import("@/app/api/v1/orgs/[org]/route")).GET;
    await call(invitation, { cookie, path: `/api/v1/invitations/${token}`, params: { token } });
    await call(accept, {
      cookie,
      method: "POST",
      path: `/api/v1/invitations/${token}/accept`,
      params: { token },
    });
    await call(org, { cookie, path: "/api/v1/orgs/acme-secret-slug", params: { org: "acme-secret-slug" } });
    const text = (await scrape()).body as string;
    expect(text).not.toContain(token);
    expect(text).not.toContain("acme-secret-slug");
    expect(text).toContain('route="/api/v1/invitations/:token",method="GET",status="404"');
    expect(text).toContain('route="/api/v1/invitations/:token/accept",method="POST"');
    expect(text).toContain('route="/api/v1/orgs/:org",method="GET",status="404"');
  });
});
