import "server-only";
import { z } from "zod";

// Every setting Tollgate reads from the environment, parsed once. Nothing else reads process.env.
const bool = z
  .enum(["true", "false", "1", "0", ""])
  .optional()
  .transform((v) => v === "true" || v === "1");

/** An optional setting: an empty value (as in .env.example) counts as unset. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

const secret = (name: string) =>
  z.string({ error: `${name} is required` }).min(32, `${name} must be at least 32 characters`);

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    APP_URL: z.url().default("http://localhost:3000"),
    // Other origins the dashboard is served from (comma-separated), accepted on cookie-authenticated mutations.
    ALLOWED_ORIGINS: z
      .string()
      .default("")
      .transform((v) =>
        v
          .split(",")
          .map((o) => o.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.url().transform((u) => new URL(u).origin))),
    DATABASE_URL: z
      .string({ error: "DATABASE_URL is required (npm run up sets it for the local stack)" })
      .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// URL"),
    // false behind a transaction pooler (Supabase port 6543): postgres.js then neither prepares statements nor
    // pipelines queries (lib/db/client.ts, docs/adr/0023).
    DATABASE_PREPARE: bool.default(true),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
    AUTH_PROVIDER: z.enum(["local", "supabase"]).default("local"),
    SESSION_SECRET: secret("SESSION_SECRET"),
    SESSION_TTL_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 90)
      .default(24 * 7),
    COOKIE_SECURE: bool,
    LOGIN_MAX_ATTEMPTS_PER_IP: z.coerce.number().int().min(1).default(30),
    // Failed sign-ins per (email, client) in a window; a known-good device has its own allowance.
    LOGIN_MAX_ATTEMPTS_PER_EMAIL: z.coerce.number().int().min(1).default(8),
    // Failed sign-ins per email from unknown clients, all together: past it only known-good devices may try.
    LOGIN_MAX_ATTEMPTS_PER_EMAIL_GLOBAL: z.coerce.number().int().min(1).default(50),
    // Whose forwarding headers to trust for the client address: none (the default off Vercel), vercel
    // (x-real-ip, which Vercel sets and overwrites), or 1–5 proxies of ours appending to X-Forwarded-For.
    TRUSTED_PROXY: z
      .string()
      .regex(/^(none|vercel|[1-5]|)$/, "TRUSTED_PROXY must be none, vercel or a proxy count 1–5")
      .optional(),
    VERCEL: z.string().optional(),
    LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(10).default(900),
    // Invalid redemption codes allowed per window, per user and per client address, before 429.
    REDEEM_MAX_ATTEMPTS_PER_USER: z.coerce.number().int().min(1).default(5),
    REDEEM_MAX_ATTEMPTS_PER_IP: z.coerce.number().int().min(1).default(20),
    // Organizations (lib/orgs/limits.ts): how many a developer may own (platform admins: no limit), and per
    // organization the pending invitations and the invitations sent in any rolling hour.
    ORG_MAX_OWNED_PER_USER: z.coerce.number().int().min(1).default(10),
    ORG_MAX_PENDING_INVITATIONS: z.coerce.number().int().min(1).default(50),
    ORG_MAX_INVITATIONS_PER_HOUR: z.coerce.number().int().min(1).default(20),
    NEXT_PUBLIC_SUPABASE_URL: z.url().optional(),
    NEXT_PUBLIC_SUPABASE_ANON_KEY: z.string().min(1).optional(),
    SUPABASE_JWT_SECRET: z.string().min(32).optional(),
    // Gateway (LiteLLM) ↔ platform.
    GATEWAY_SECRET: secret("GATEWAY_SECRET"),
    KEY_PEPPER: secret("KEY_PEPPER"),
    // Usage webhooks from the gateway are HMAC-SHA256 signed with this (the gateway's TOLLGATE_WEBHOOK_SECRET).
    WEBHOOK_SECRET: secret("WEBHOOK_SECRET"),
    WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(30).max(3600).default(300),
    // Encrypts customer webhook endpoints' signing secrets at rest (lib/webhooks/secret.ts); when unset, a key
    // derived from KEY_PEPPER (HKDF) does. Changing it makes the stored secrets unreadable: rotate them after.
    WEBHOOK_ENDPOINT_KEY: unsetIfEmpty(
      z.string().min(32, "WEBHOOK_ENDPOINT_KEY must be at least 32 characters"),
    ),
    // Lets customer webhooks reach private and loopback addresses (and plain http://localhost) under NODE_ENV
    // production: for local stacks and tests that run `next start`; refused on Vercel (lib/webhooks/ssrf.ts).
    WEBHOOK_ALLOW_PRIVATE_TARGETS: bool,
    // Envelope keys of stored provider credentials (BYOK, lib/providers/crypto.ts): comma-separated id:base64 of 32
    // bytes; the first seals, every one opens (rotation: put the new key first, run `npm run credentials:rotate`,
    // then drop the old). Unset: one key derived from KEY_PEPPER, id p0.
    PROVIDER_KEYS: unsetIfEmpty(
      z
        .string()
        .transform((v) =>
          v
            .split(",")
            .map((part) => part.trim())
            .filter(Boolean)
            .map((part) => {
              const at = part.indexOf(":");
              return { id: at > 0 ? part.slice(0, at) : "", key: part.slice(at + 1) };
            }),
        )
        .pipe(
          z
            .array(
              z.object({
                id: z
                  .string()
                  .regex(
                    /^[A-Za-z0-9_-]{1,32}$/,
                    "each PROVIDER_KEYS entry is id:base64 (id: letters, digits, _ or -)",
                  ),
                key: z
                  .string()
                  .refine(
                    (b) => Buffer.from(b, "base64").length === 32,
                    "each PROVIDER_KEYS key must be 32 bytes (base64)",
                  )
                  .transform((b) => Buffer.from(b, "base64")),
              }),
            )
            .min(1)
            .refine(
              (keys) => new Set(keys.map((k) => k.id)).size === keys.length,
              "PROVIDER_KEYS ids must differ",
            ),
        ),
    ),
    LITELLM_URL: z.url().default("http://127.0.0.1:4000"),
    LITELLM_MASTER_KEY: z.string().min(16).optional(),
    // The gateway address apps use (shown on key pages); defaults to LITELLM_URL + /v1.
    GATEWAY_PUBLIC_URL: z.url().optional(),
    MODEL_INFO_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
    // Vercel cron (and the local ticker) call /api/cron/* with this bearer token.
    CRON_SECRET: secret("CRON_SECRET"),
    // Settlement: an open hold older than this with no usage event is reconciled.
    SETTLEMENT_GRACE_MINUTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .default(60),
    // Balance leases (docs/adr/0011): how long one grant stays valid (the gateway re-asks before), and how long a
    // returned lease keeps its in-flight calls' share reserved waiting for their usage events.
    LEASE_TTL_SECONDS: z.coerce.number().int().min(2).max(600).default(60),
    LEASE_INFLIGHT_KEEP_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(24 * 3600)
      .default(900),
    // When the gateway has no event for such a hold: release it as waived, or charge the hold as estimated.
    SETTLEMENT_STALE_HOLD_POLICY: z.enum(["release", "estimate"]).default("release"),
    SETTLEMENT_CHUNK_ACCOUNTS: z.coerce.number().int().min(1).max(100_000).default(500),
    // Stripe Checkout top-ups: on when both are set (the webhook endpoint is /api/webhooks/stripe).
    STRIPE_SECRET_KEY: unsetIfEmpty(z.string().min(1)),
    STRIPE_WEBHOOK_SECRET: unsetIfEmpty(z.string().min(1)),
    // Another Stripe API base (a local fake in tests); Stripe's own when unset.
    STRIPE_API_URL: unsetIfEmpty(z.url()),
    // Outgoing email (low-balance notices): smtp://user:pass@host:port, or smtps://…; off when unset.
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, "SMTP_URL must be an smtp:// or smtps:// URL")
      .optional(),
    SMTP_FROM: z.string().min(3).default("Tollgate <billing@tollgate.local>"),
    // Bearer token of /api/metrics (Prometheus); metrics are off when unset.
    METRICS_TOKEN: unsetIfEmpty(z.string().min(16, "METRICS_TOKEN must be at least 16 characters")),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .superRefine((env, ctx) => {
    if (env.WEBHOOK_ALLOW_PRIVATE_TARGETS && env.VERCEL)
      ctx.addIssue({
        code: "custom",
        path: ["WEBHOOK_ALLOW_PRIVATE_TARGETS"],
        message: "WEBHOOK_ALLOW_PRIVATE_TARGETS is for local stacks and tests, never on Vercel",
      });
    if (env.AUTH_PROVIDER === "supabase") {
      for (const key of ["NEXT_PUBLIC_SUPABASE_URL", "NEXT_PUBLIC_SUPABASE_ANON_KEY"] as const) {
        if (!env[key])
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `${key} is required when AUTH_PROVIDER=supabase`,
          });
      }
    }
  });

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = issue.path.join(".") || "environment";
        return issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`;
      }),
    );
  }
  return result.data;
}

let cached: Config | undefined;

export type TrustedProxy = { kind: "none" } | { kind: "vercel" } | { kind: "hops"; hops: number };

/** Which forwarding headers carry the client's address (default: none, or Vercel's when running there). */
export function trustedProxy(cfg: Config = config()): TrustedProxy {
  const value = cfg.TRUSTED_PROXY || (cfg.VERCEL ? "vercel" : "none");
  if (value === "none" || value === "vercel") return { kind: value };
  return { kind: "hops", hops: Number(value) };
}

/** The OpenAI-compatible base URL apps call. */
export function gatewayPublicUrl(cfg: Config = config()): string {
  return cfg.GATEWAY_PUBLIC_URL ?? `${cfg.LITELLM_URL.replace(/\/$/, "")}/v1`;
}

/** The parsed configuration; the first call validates process.env and throws a ConfigError naming each bad variable. */
export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}
