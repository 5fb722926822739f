// Bring your own provider key through the real gateway (issue 29, billing contract clause 61): real PostgreSQL, next
// start, LiteLLM with the plugin, the fake upstream (which accepts only the byok- keys it was told about and counts
// the calls each served), the official openai client.
// - A developer's stored key serves their calls and not another developer's; each BYOK call is charged exactly the
//   plan's fee (ceil(full × 500 / 10,000) with no plan) at no provider cost, the row says byok.
// - A key the provider refuses: the call fails (401, saying the stored key was refused), is free, and the credential
//   is marked invalid.
// - Deleting the key: the next call is refused (403, nothing reserved) while the owner refuses the platform's keys,
//   and served by the platform (billed at the price book) once the owner allows it.
// - A BYOK call adds nothing to LiteLLM's router (it upserts a request's api_key as a deployment of the shared group):
//   another developer's calls to the same model never reach the owner's key, and the deployment count is unchanged.
// - No stored key appears in any log of the run (the harness's scan), in either metrics endpoint, or in the
//   gateway's outbox file.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { createCredential, deleteCredential, setPlatformFallback } from "@/lib/providers/credentials";
import { customer, failure, gatewayBase, MASTER_KEY, startGatewayStack } from "./helpers";

const METRICS_TOKEN = `metrics-${randomBytes(12).toString("hex")}`;
// The platform and this process (which stores credentials through the domain verbs) seal with the same envelope key.
const PROVIDER_KEYS = `t1:${randomBytes(32).toString("base64")}`;
process.env.PROVIDER_KEYS = PROVIDER_KEYS;
const AUTH_TTL_MS = 2_000;
const UPSTREAM_PORT = 4251;
const ctx = startGatewayStack(
  "gateway-byok",
  { app: 3270, pg: 25650, litellm: 4241, upstream: UPSTREAM_PORT },
  { METRICS_TOKEN, PROVIDER_KEYS },
  {
    TOLLGATE_LEASE_IDLE_SECONDS: "1",
    TOLLGATE_LITELLM_PROMETHEUS: "on",
    // The test stack only: the fake upstream stands for OpenAI's API, and its loopback base needs no admin allowance.
    TOLLGATE_BYOK_TEST_OFFICIAL_BASES: `http://127.0.0.1:${UPSTREAM_PORT}/v1`,
    TOLLGATE_BYOK_STRICT_HOSTS: "off",
  },
);

const upstream = () => ctx.stack.upstreamUrl!.replace(/\/v1$/, "");
async function servedBy(): Promise<Record<string, number>> {
  return ((await (await fetch(`${upstream()}/byok-keys`)).json()) as { served: Record<string, number> })
    .served;
}
/** The deployments LiteLLM's router holds (its /model/info lists every one). */
async function deploymentCount(): Promise<number> {
  const info = (await (
    await fetch(`${gatewayBase(ctx)}/model/info`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })
  ).json()) as { data: unknown[] };
  return info.data.length;
}
async function acceptAtProvider(key: string) {
  await fetch(`${upstream()}/byok-keys`, { method: "POST", body: JSON.stringify({ key }) });
}
const actor = (userId: string) => ({ userId, kind: "user" as const, role: "developer" as const });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Past the gateway's auth and credentials TTL: what the platform answers now reaches it. */
const pastTtl = () => wait(AUTH_TTL_MS + 500);

interface Row {
  call_id: string;
  status: string;
  credential: string;
  prompt_tokens: number;
  completion_tokens: number;
  revenue_micros: bigint;
  cost_micros: bigint;
}
async function rowsOf(keyId: string, count: number, timeoutMs = 15_000): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await ctx.sql<Row[]>`
      select call_id, status, coalesce(credential, 'platform') as credential, prompt_tokens, completion_tokens, revenue_micros, cost_micros
      from usage_events where key_id = ${keyId} order by id`;
    if (rows.length >= count || Date.now() > deadline) return rows;
    await wait(100);
  }
}

/** fake-small's demo price: $0.50 / $1.50 per million tokens, rounded up once (clause 1). */
const fullPrice = (r: Row) =>
  (BigInt(r.prompt_tokens) * 500_000n + BigInt(r.completion_tokens) * 1_500_000n + 999_999n) / 1_000_000n;
const fee = (full: bigint, bps = 500n) => (full * bps + 9_999n) / 10_000n;

const messages = [{ role: "user" as const, content: "Say something short about tollgates." }];
const secretA = `byok-a-${randomBytes(16).toString("hex")}`;
const refusedSecret = `byok-dead-${randomBytes(16).toString("hex")}`;
let alice: Awaited<ReturnType<typeof customer>>;
let bob: Awaited<ReturnType<typeof customer>>;
let aliceCredentialId: string;
let deploymentsAtStart: number;

beforeAll(async () => {
  ctx.addSecret(secretA);
  ctx.addSecret(refusedSecret);
  ctx.addSecret(METRICS_TOKEN);
  ctx.addSecret(PROVIDER_KEYS.slice(3));
  alice = await customer(ctx, 5_000_000n);
  bob = await customer(ctx, 5_000_000n);
  await acceptAtProvider(secretA);
  const credential = await createCredential(
    ctx.sql,
    actor(alice.userId),
    {},
    { provider: "openai", secret: secretA },
  );
  aliceCredentialId = credential.id;
  deploymentsAtStart = await deploymentCount();
});

describe("a developer's own provider key", () => {
  it("serves their calls, not another developer's, each charged exactly the BYOK fee at no provider cost", async () => {
    for (let i = 0; i < 3; i++)
      expect(
        await failure(
          alice.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 20 + i }),
        ),
      ).toBeNull();
    for (let i = 0; i < 2; i++)
      expect(
        await failure(
          bob.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 20 + i }),
        ),
      ).toBeNull();
    expect((await servedBy())[secretA]).toBe(3);
    const aliceRows = await rowsOf(alice.id, 3);
    const bobRows = await rowsOf(bob.id, 2);
    expect(aliceRows.map((r) => [r.status, r.credential, r.cost_micros])).toEqual(
      Array(3).fill(["success", "byok", 0n]),
    );
    for (const r of aliceRows) {
      expect(r.prompt_tokens).toBeGreaterThan(0);
      expect(r.revenue_micros).toBe(fee(fullPrice(r)));
    }
    expect(bobRows.map((r) => r.credential)).toEqual(["platform", "platform"]);
    for (const r of bobRows) {
      expect(r.revenue_micros).toBe(fullPrice(r));
      expect(r.cost_micros).toBeGreaterThan(0n);
    }
  });

  it("adds nothing to the shared router: another developer's calls never reach the owner's key", async () => {
    const before = (await servedBy())[secretA];
    expect(before).toBeGreaterThan(0); // alice's calls above went out with her key
    for (let i = 0; i < 20; i++)
      expect(
        await failure(bob.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 5 })),
      ).toBeNull();
    expect((await servedBy())[secretA]).toBe(before);
    expect(await deploymentCount()).toBe(deploymentsAtStart);
    const bobRows = await rowsOf(bob.id, 22);
    expect(bobRows.filter((r) => r.credential !== "platform")).toEqual([]);
  });

  it("a key the provider refuses fails the call free, says so, and marks the credential invalid", async () => {
    const pinned = await ctx.issueKey({ userId: alice.userId, name: "pinned" });
    await createCredential(
      ctx.sql,
      actor(alice.userId),
      { keyId: pinned.id },
      { provider: "openai", secret: refusedSecret },
    );
    const refused = await failure(
      ctx.client(pinned.secret).chat.completions.create({ model: "fake-small", messages, max_tokens: 5 }),
    );
    expect(refused?.status).toBe(401);
    expect(refused?.message).toContain("refused the stored provider key");
    const [row] = await rowsOf(pinned.id, 1);
    expect(row).toMatchObject({ status: "failure", credential: "byok", revenue_micros: 0n });
    const deadline = Date.now() + 10_000;
    let status = "";
    while (Date.now() < deadline) {
      const [row] = await ctx.sql<{ status: string }[]>`
        select status from provider_credentials where key_id = ${pinned.id}`;
      status = row?.status ?? "";
      if (status === "invalid") break;
      await wait(100);
    }
    expect(status).toBe("invalid");
  });

  it("once deleted, calls are refused (nothing reserved) until the owner allows the platform's keys", async () => {
    await deleteCredential(ctx.sql, actor(alice.userId), aliceCredentialId);
    await pastTtl();
    const before = (await rowsOf(alice.id, 3)).length;
    const refused = await failure(
      alice.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 5 }),
    );
    expect(refused?.status).toBe(403);
    expect(refused?.message).toContain("Provider keys");
    await wait(500);
    expect((await rowsOf(alice.id, before, 0)).length).toBe(before);
    const [held] = await ctx.sql<{ n: number }[]>`
      select count(*)::int as n from holds where key_id = ${alice.id}`;
    expect(held!.n).toBe(0);
    await setPlatformFallback(ctx.sql, actor(alice.userId), {}, true);
    await pastTtl();
    expect(
      await failure(alice.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 7 })),
    ).toBeNull();
    const rows = await rowsOf(alice.id, before + 1);
    const last = rows[rows.length - 1]!;
    expect(last.credential).toBe("platform");
    expect(last.revenue_micros).toBe(fullPrice(last));
    expect((await servedBy())[secretA]).toBe(3);
  });

  it("no stored key reaches a metric or the gateway's outbox", async () => {
    const gatewayMetrics = await (
      await fetch(`${gatewayBase(ctx)}/tollgate/metrics`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      })
    ).text();
    const litellmMetrics = await (
      await fetch(`${gatewayBase(ctx)}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })
    ).text();
    const platformMetrics = await (
      await fetch(`${ctx.stack.appUrl}/api/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      })
    ).text();
    expect(platformMetrics).toContain("# TYPE");
    expect(gatewayMetrics).toContain("tollgate_gateway_");
    const outbox = [ctx.stack.outboxPath!, `${ctx.stack.outboxPath!}-wal`]
      .filter((p) => existsSync(p))
      .map((p) => readFileSync(p).toString("latin1"))
      .join("");
    expect(outbox).toContain(alice.id);
    for (const secret of [secretA, refusedSecret]) {
      for (const [where, text] of [
        ["gateway metrics", gatewayMetrics],
        ["LiteLLM metrics", litellmMetrics],
        ["platform metrics", platformMetrics],
        ["outbox", outbox],
      ] as const)
        expect([where, text.includes(secret), text.includes(secret.slice(-12))]).toEqual([
          where,
          false,
          false,
        ]);
    }
  });
});
