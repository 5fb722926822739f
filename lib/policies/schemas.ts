import { z } from "zod";
import { PII_CATEGORIES } from "@/lib/billing/contract";

// An account's response cache and PII guardrails as their owner sets them (issue 30 parts 1 and 4): the API's
// answer and body, shared by routes, verbs and the pages (no server-only). Stored in accounts
// (response_cache_ttl_seconds, response_cache_max_temperature, pii_policy); the gateway reads them through
// lib/keys/verify.ts.

export type PiiCategory = (typeof PII_CATEGORIES)[number];
export { PII_CATEGORIES };

/** What the guardrails do with a category: nothing, a placeholder before the provider, or refuse the call. */
export const PII_ACTIONS = ["off", "mask", "block"] as const;
export type PiiAction = (typeof PII_ACTIONS)[number];

/** The longest an answer is kept: 7 days (accounts_response_cache_ttl_check). */
export const MAX_TTL_SECONDS = 604_800;

/** The TTLs the pages offer; the API takes any whole number of seconds from 1 to 7 days. */
export const TTL_PRESETS = [
  { seconds: 300, label: "5 minutes" },
  { seconds: 3_600, label: "1 hour" },
  { seconds: 86_400, label: "1 day" },
  { seconds: 604_800, label: "7 days" },
] as const;

/** Each category as the pages explain it: a name and an example of what is found. */
export const PII_CATEGORY_INFO: Record<string, { label: string; example: string; placeholder: string }> = {
  email: { label: "Email address", example: "ada@example.com", placeholder: "[EMAIL_1]" },
  phone: { label: "Phone number", example: "+44 20 7946 0958", placeholder: "[PHONE_1]" },
  card: {
    label: "Payment card (Luhn-checked)",
    example: "4111 1111 1111 1111",
    placeholder: "[CARD_1]",
  },
  iban: { label: "IBAN", example: "DE89 3704 0044 0532 0130 00", placeholder: "[IBAN_1]" },
  gov_id: { label: "Government id", example: "078-05-1120 (US SSN)", placeholder: "[GOV_ID_1]" },
  ip: { label: "IP address", example: "203.0.113.7", placeholder: "[IP_1]" },
  secret: {
    label: "Secrets (API keys, private keys)",
    example: "sk-live-…, -----BEGIN PRIVATE KEY-----",
    placeholder: "[SECRET_1]",
  },
};

/** An account's policy as the API answers it: every category present, "off" included. */
export interface AccountPolicy {
  responseCache: {
    /** Off while no TTL is stored. */
    enabled: boolean;
    /** How long an answer is kept, in seconds; null while off. */
    ttlSeconds: number | null;
    /** Requests whose temperature is at most this are cached (an unset temperature counts as 1). */
    maxTemperature: number;
  };
  pii: Record<PiiCategory, PiiAction>;
}

/** The policy with whose it is and whether the caller may change it (the pages show it read-only otherwise). */
export interface PolicyView {
  accountId: string;
  /** The organization whose account it is; null for a person's own. */
  organizationId: string | null;
  policy: AccountPolicy;
  canChange: boolean;
  /** Who may change it, for the read-only note. */
  changedBy: string;
}

const ttlSeconds = z.number().int().min(1).max(MAX_TTL_SECONDS);
/** Two decimals at most, as numeric(3, 2) stores it: 0.7 and 1.25 are taken, 1.255 is refused rather than rounded. */
const maxTemperature = z
  .number()
  .min(0)
  .max(2)
  .refine((v) => Number(v.toFixed(2)) === v, "at most 2 decimals");

const piiAction = z.enum(PII_ACTIONS).optional();
/** Only the contract's categories: an unknown one is refused, not ignored. */
const piiChanges = z.strictObject(
  Object.fromEntries(PII_CATEGORIES.map((c) => [c, piiAction])) as Record<PiiCategory, typeof piiAction>,
);

/**
 * A change: only what is sent changes. Turning the cache on needs a TTL unless it is already on; turning it off
 * forgets the TTL. A category set to "off" is removed from the stored policy.
 */
export const updatePolicyBody = z
  .strictObject({
    responseCache: z
      .strictObject({
        enabled: z.boolean().optional(),
        ttlSeconds: ttlSeconds.optional(),
        maxTemperature: maxTemperature.optional(),
      })
      .refine((v) => !(v.enabled === false && v.ttlSeconds !== undefined), {
        message: "a TTL cannot be set while turning the cache off",
        path: ["ttlSeconds"],
      })
      .optional(),
    pii: piiChanges.optional(),
  })
  .refine((v) => v.responseCache !== undefined || v.pii !== undefined, "send at least one field to change");

export type UpdatePolicyBody = z.input<typeof updatePolicyBody>;

/** ?userId= (platform admins reading a person's policy); anyone else reads their own. */
export const accountPolicyQuery = z.strictObject({ userId: z.uuid().optional() });
