import "server-only";
import { randomBytes } from "node:crypto";
import { hashPassword } from "@/lib/auth/password";
import { creditAccount, getAccount } from "@/lib/billing/ledger";
import type { Sql } from "@/lib/db/client";
import { generateKeySecret, hashKey, keyPrefix } from "@/lib/keys/secret";
import { createOrg } from "@/lib/orgs/create";

export interface DemoCredentials {
  admin: { email: string; password: string };
  developer: { email: string; password: string; apiKey?: string };
}

/**
 * Models served by the fake upstream (litellm/config.yaml), so the demo works with no provider account.
 * Prices in micro-USD per million tokens: provider cost and sell price.
 */
export const DEMO_MODELS = [
  {
    name: "fake-small",
    description: "Fast, small demo model (fake upstream)",
    contextWindow: 16_384,
    maxOutput: 4_096,
    cost: { input: 300_000n, output: 900_000n },
    price: { input: 500_000n, output: 1_500_000n },
  },
  {
    name: "fake-large",
    description: "Larger demo model (fake upstream)",
    contextWindow: 131_072,
    maxOutput: 8_192,
    cost: { input: 2_500_000n, output: 10_000_000n },
    price: { input: 3_500_000n, output: 15_000_000n },
  },
  {
    name: "fake-slow",
    description: "Demo model with a slow first token (fake upstream)",
    contextWindow: 16_384,
    maxOutput: 4_096,
    cost: { input: 300_000n, output: 900_000n },
    price: { input: 500_000n, output: 1_500_000n },
  },
  {
    name: "fake-embed",
    description: "Demo embeddings model, billed for its input tokens (fake upstream)",
    contextWindow: 8_192,
    maxOutput: 1,
    cost: { input: 10_000n, output: 0n },
    price: { input: 20_000n, output: 0n },
  },
  {
    name: "fake-cache",
    description:
      "Demo model with prompt caching and reasoning, each token class at its own rate (fake upstream)",
    contextWindow: 200_000,
    maxOutput: 8_192,
    cost: { input: 2_000_000n, output: 10_000_000n },
    price: { input: 3_000_000n, output: 15_000_000n },
    units: {
      cached_input_cost_micros: 200_000n,
      cached_input_price_micros: 300_000n,
      cache_write_cost_micros: 2_500_000n,
      cache_write_price_micros: 3_750_000n,
      reasoning_cost_micros: 12_000_000n,
      reasoning_price_micros: 18_000_000n,
    },
  },
  {
    name: "fake-instruct",
    description: "Demo model for legacy completions, /v1/completions (fake upstream)",
    contextWindow: 4_096,
    maxOutput: 4_096,
    cost: { input: 300_000n, output: 900_000n },
    price: { input: 500_000n, output: 1_500_000n },
  },
  {
    name: "fake-image",
    description: "Demo image model, priced per image by size and quality (fake upstream)",
    contextWindow: 4_096,
    maxOutput: 1,
    cost: { input: 0n, output: 0n },
    price: { input: 0n, output: 0n },
    // $0.04 an image at its default (1024x1024, standard); wide images and HD dearer, as DALL·E 3 sells them.
    units: { image_cost_micros: 20_000n, image_price_micros: 40_000n },
    imageRates: [
      { size: null, quality: "hd", price_micros: 80_000, cost_micros: 40_000 },
      { size: "1792x1024", quality: null, price_micros: 80_000, cost_micros: 40_000 },
      { size: "1024x1792", quality: null, price_micros: 80_000, cost_micros: 40_000 },
      { size: "1792x1024", quality: "hd", price_micros: 120_000, cost_micros: 60_000 },
      { size: "1024x1792", quality: "hd", price_micros: 120_000, cost_micros: 60_000 },
    ],
  },
  {
    name: "fake-tts",
    description: "Demo text-to-speech, priced per million characters (fake upstream)",
    contextWindow: 4_096,
    maxOutput: 1,
    cost: { input: 0n, output: 0n },
    price: { input: 0n, output: 0n },
    units: { character_cost_micros: 10_000_000n, character_price_micros: 15_000_000n },
  },
  {
    name: "fake-whisper",
    description: "Demo transcription, priced per second of audio (fake upstream)",
    contextWindow: 4_096,
    maxOutput: 1,
    cost: { input: 0n, output: 0n },
    price: { input: 0n, output: 0n },
    units: { audio_second_cost_micros: 60n, audio_second_price_micros: 100n },
  },
] as {
  name: string;
  description: string;
  contextWindow: number;
  maxOutput: number;
  cost: { input: bigint; output: bigint };
  price: { input: bigint; output: bigint };
  /** Rates beyond input/output tokens: price_versions columns (docs/billing-contract.md, clause 41). */
  units?: Record<string, bigint>;
  /** Per image by size and quality: price_versions.image_rates (clause 43). */
  imageRates?: { size: string | null; quality: string | null; price_micros: number; cost_micros: number }[];
}[];

/**
 * The four tiers: Free 10 requests a day, Personal 100, Professional 1,000, Business unlimited pay-as-you-go;
 * budgets and a monthly credit where a tier sells them. The demo developer is on Professional.
 */
export const DEMO_PLANS = [
  {
    name: "Free",
    description: "Try it out: 10 requests a day.",
    requestsPerDay: 10,
    rpmLimit: 5,
    dailyBudgetMicros: 100_000n,
    monthlyGrantMicros: 500_000n,
  },
  {
    name: "Personal",
    description: "For side projects: 100 requests a day.",
    requestsPerDay: 100,
    rpmLimit: 20,
    dailyBudgetMicros: 2_000_000n,
    monthlyGrantMicros: null,
  },
  {
    name: "Professional",
    description: "For production apps: 1,000 requests a day.",
    requestsPerDay: 1_000,
    rpmLimit: 120,
    dailyBudgetMicros: null,
    monthlyGrantMicros: null,
  },
  {
    name: "Business",
    description: "Unlimited, pay as you go.",
    requestsPerDay: null,
    rpmLimit: null,
    dailyBudgetMicros: null,
    monthlyGrantMicros: null,
  },
] as const;
export const DEMO_DEVELOPER_PLAN = "Professional";

/** The developer's opening balance: $5.00. */
export const DEMO_BALANCE_MICROS = 5_000_000n;

export const DEMO_ADMIN_EMAIL = "admin@tollgate.local";
export const DEMO_DEVELOPER_EMAIL = "dev@tollgate.local";

function generatePassword(): string {
  return randomBytes(12).toString("base64url");
}

/**
 * Seeds the demo: an admin and a developer with generated passwords. Idempotent: existing users keep their
 * passwords (the caller keeps the credentials it printed the first time), so a second run changes nothing.
 * When the caller has lost them (no known password), the demo accounts get fresh ones.
 */
export async function seedDemo(
  sql: Sql,
  known: Partial<DemoCredentials> | undefined,
  { pepper }: { pepper: string },
): Promise<DemoCredentials & { created: string[] }> {
  const created: string[] = [];
  const ensure = async (
    email: string,
    name: string,
    role: "admin" | "developer",
    password: string,
    reset: boolean,
  ) => {
    const rows = await sql<{ id: string; inserted: boolean }[]>`
      insert into users (email, name, role, password_hash)
      values (${email}, ${name}, ${role}, ${await hashPassword(password)})
      on conflict (email) do update set password_hash = excluded.password_hash where ${reset}
      returning id, (xmax = 0) as inserted`;
    if (rows[0]?.inserted) {
      created.push(email);
      await sql`
        insert into audit_log (actor_kind, action, target_type, target_id, after)
        values ('system', 'user.create', 'user', ${rows[0]!.id}, ${sql.json({ email, role, source: "demo seed" })})`;
    }
  };
  const admin = { email: DEMO_ADMIN_EMAIL, password: known?.admin?.password ?? generatePassword() };
  const developer = {
    email: DEMO_DEVELOPER_EMAIL,
    password: known?.developer?.password ?? generatePassword(),
  };
  await ensure(admin.email, "Demo Admin", "admin", admin.password, !known?.admin?.password);
  await ensure(
    developer.email,
    "Demo Developer",
    "developer",
    developer.password,
    !known?.developer?.password,
  );
  for (const m of DEMO_MODELS) {
    const rows = await sql`
      insert into models (public_name, litellm_model_group, provider, description, context_window, max_output_tokens)
      values (${m.name}, ${m.name}, 'fake', ${m.description}, ${m.contextWindow}, ${m.maxOutput})
      on conflict (public_name) do nothing returning id`;
    if (rows.length) created.push(`model ${m.name}`);
    const [model] = await sql<{ id: string }[]>`select id from models where public_name = ${m.name}`;
    const priced = await sql`
      insert into price_versions ${sql({
        model_id: model!.id,
        effective_from: "2026-01-01T00:00:00Z",
        input_cost_micros: m.cost.input,
        output_cost_micros: m.cost.output,
        input_price_micros: m.price.input,
        output_price_micros: m.price.output,
        ...m.units,
        image_rates: sql.json(m.imageRates ?? []),
        note: "demo price",
      })}
      on conflict (model_id, effective_from) do nothing returning id`;
    if (priced.length) created.push(`price ${m.name}`);
  }

  for (const p of DEMO_PLANS) {
    const rows = await sql`
      insert into plans (name, description, requests_per_day, rpm_limit, daily_budget_micros, monthly_grant_micros)
      values (${p.name}, ${p.description}, ${p.requestsPerDay}, ${p.rpmLimit}, ${p.dailyBudgetMicros}, ${p.monthlyGrantMicros})
      on conflict (name) do nothing returning id`;
    if (rows.length) created.push(`plan ${p.name}`);
  }
  // Only when the tiers are first seeded: a later change of the developer's plan by an admin stays.
  if (created.includes(`plan ${DEMO_DEVELOPER_PLAN}`)) {
    await sql`
      update users set plan_id = (select id from plans where name = ${DEMO_DEVELOPER_PLAN})
      where email = ${developer.email}`;
  }

  // A key for the developer, unless the one handed out before still works.
  const [devRow] = await sql<{ id: string }[]>`select id from users where email = ${developer.email}`;
  const account = await getAccount(sql, { userId: devRow!.id });
  const funded = await creditAccount(
    sql,
    { userId: null, kind: "system" },
    {
      accountId: account!.id,
      amountMicros: DEMO_BALANCE_MICROS,
      kind: "grant",
      reason: "Demo opening balance",
      idempotencyKey: "demo-opening-balance",
    },
  );
  if (!funded.replayed) created.push("opening balance $5.00");
  let apiKey = known?.developer?.apiKey;
  const live = apiKey
    ? await sql`select 1 from api_keys where key_hash = ${hashKey(apiKey, pepper)} and status = 'active'`
    : [];
  if (!live.length) {
    apiKey = generateKeySecret();
    await sql`
      insert into api_keys (user_id, name, prefix, key_hash)
      values (${devRow!.id}, 'Demo key', ${keyPrefix(apiKey)}, ${hashKey(apiKey, pepper)})`;
    created.push(`key ${keyPrefix(apiKey)}…`);
  }
  if (await seedDemoOrganization(sql, devRow!.id)) created.push(`organization ${DEMO_ORG.slug}`);
  return { admin, developer: { ...developer, apiKey }, created };
}

/** The demo organization: owned by the demo developer, with a capped teammate, funded. */
export const DEMO_ORG = {
  name: "Acme Labs",
  slug: "acme",
  balanceMicros: 20_000_000n,
  teammate: { email: "teammate@tollgate.local", name: "Demo Teammate" },
} as const;

/**
 * Acme Labs, once: the developer owns it (createOrg), a teammate without a password is a member
 * capped at $1 a UTC day and $10 a month, and a grant funds it. Whether it was created now.
 */
async function seedDemoOrganization(sql: Sql, ownerId: string): Promise<boolean> {
  const [exists] = await sql`select 1 from organizations where slug = ${DEMO_ORG.slug}`;
  if (exists) return false;
  // Made by the demo admin for the developer (an admin's "create for a user"): the seed runs outside the app, where a
  // developer's own creation would read the app's settings for its abuse limits.
  const [owner] = await sql<{ email: string }[]>`select email from users where id = ${ownerId}`;
  const [admin] = await sql<{ id: string }[]>`select id from users where email = ${DEMO_ADMIN_EMAIL}`;
  const org = await createOrg(
    sql,
    { userId: admin!.id, kind: "user", role: "admin" },
    { name: DEMO_ORG.name, slug: DEMO_ORG.slug, ownerEmail: owner!.email },
  );
  const [teammate] = await sql<{ id: string }[]>`
    insert into users (email, name, role) values (${DEMO_ORG.teammate.email}, ${DEMO_ORG.teammate.name}, 'developer')
    on conflict (email) do update set name = excluded.name returning id`;
  await sql`
    insert into organization_members (organization_id, user_id, role, daily_cap_micros, monthly_cap_micros, invited_by)
    values (${org.id}, ${teammate!.id}, 'member', 1000000, 10000000, ${ownerId})
    on conflict do nothing`;
  await creditAccount(
    sql,
    { userId: null, kind: "system" },
    {
      accountId: org.account.id,
      amountMicros: DEMO_ORG.balanceMicros,
      kind: "grant",
      reason: "Demo organization opening balance",
      idempotencyKey: "demo-acme-opening-balance",
    },
  );
  return true;
}
