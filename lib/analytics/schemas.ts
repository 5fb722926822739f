import { z } from "zod";
import { PII_CATEGORIES } from "@/lib/billing/contract";
import { CALL_KINDS } from "@/lib/billing/schemas";
import { utcDayOrDateTime } from "@/lib/http/schemas";
import { organizationRef } from "@/lib/keys/schemas";

// The usage filters the dashboard's analytics, request log and CSV export share (no server-only: the pages build
// their URLs from the same schema). Every filter lives in the URL, so a view can be shared.

export { CALL_KINDS };
export const CALL_STATUSES = ["success", "cut", "failure"] as const;
export const BILLING_STATUSES = ["exact", "estimated", "waived"] as const;

/** A UTC day (YYYY-MM-DD) or an ISO date-time with an offset, in the years the API takes. */
const instant = utcDayOrDateTime();

export const usageFilters = z.strictObject({
  /** Start, inclusive: a UTC day means its midnight. Default: 7 days before `to`. */
  from: instant.optional(),
  /** End, exclusive for a date-time; a UTC day includes that whole day. Default: now. */
  to: instant.optional(),
  userId: z.uuid().optional(),
  /** An organization (slug or id): the calls charged to it that the caller may see. */
  org: organizationRef.optional(),
  keyId: z.uuid().optional(),
  model: z.string().trim().min(1).max(200).optional(),
  kind: z.enum(CALL_KINDS).optional(),
  status: z.enum(CALL_STATUSES).optional(),
  billing: z.enum(BILLING_STATUSES).optional(),
  /** An error class (e.g. RateLimitError), or "any" for every call that ended in an error. */
  error: z.string().trim().min(1).max(200).optional(),
});
export type UsageFilters = z.output<typeof usageFilters>;

export const BUCKETS = ["hour", "day"] as const;
export const BREAKDOWNS = ["model", "kind", "user", "key"] as const;

export const analyticsQuery = usageFilters.extend({
  /** Chart buckets; default: hours up to two days, days beyond. */
  bucket: z.enum(BUCKETS).optional(),
  by: z.enum(BREAKDOWNS).default("model"),
});
export type AnalyticsQuery = z.output<typeof analyticsQuery>;

/**
 * A call id to look for (the gateway's ids are UUIDs): the whole id, or its first 13 characters or more, dashes
 * included as written; case does not matter. The gateway's ids are UUIDv7 (docs/adr/0028): their first 13 characters
 * are the millisecond the call arrived, so a shorter prefix names a stretch of time (4 characters: 50 days of every
 * account's calls), which the claims index would read whole for each search.
 */
export const CALL_ID_PREFIX_MIN = 13;
export const callIdSearch = z
  .string()
  .trim()
  .regex(
    new RegExp(`^[0-9A-Fa-f][0-9A-Fa-f-]{${CALL_ID_PREFIX_MIN - 1},35}$`),
    `a call id, or its first ${CALL_ID_PREFIX_MIN} characters or more (0-9, a-f, dashes)`,
  )
  .transform((value) => value.toLowerCase());

/**
 * The safety score (the gateway's prompt-injection heuristic, 0–100) at or above which a call is flagged: the request
 * log's badge and the unsafe_rate alert both count from here.
 */
export const FLAGGED_SAFETY_SCORE = 50;

/** What the request log (and its export) can filter besides the usage filters: the call's cache and safety signals. */
const callSignalFilters = {
  /** Calls answered from the response cache (true) or not (false). */
  cacheHit: z.enum(["true", "false"]).optional(),
  /** Calls served with the platform's provider credentials or the owner's own (BYOK, clause 62). */
  credential: z.enum(["platform", "byok"]).optional(),
  /** Calls whose safety score is at least this (calls never scored are left out). */
  minSafetyScore: z
    .string()
    .regex(/^\d{1,3}$/, "a whole number from 0 to 100")
    .transform(Number)
    .pipe(z.int().min(0).max(100))
    .optional(),
};

/** A row's masked PII counts as one line to read: "email ×2, card ×1" (categories in the contract's order); "" none. */
export function piiSummary(masked: Record<string, number> | null): string {
  if (!masked) return "";
  return PII_CATEGORIES.filter((c) => (masked[c] ?? 0) > 0)
    .map((c) => `${c} ×${masked[c]}`)
    .join(", ");
}

/** The request log's own filter keys, after FILTER_KEYS in its URLs. */
export const LOG_FILTER_KEYS = ["cacheHit", "minSafetyScore", "credential"] as const;

export const requestLogQuery = usageFilters.extend({
  ...callSignalFilters,
  /** Calls whose id is this or starts with it; without from/to, over the longest range (400 days to now). */
  callId: callIdSearch.optional(),
  /** Opaque: the nextCursor of the previous page. */
  cursor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type RequestLogQuery = z.output<typeof requestLogQuery>;

/** The CSV export of the request log: its filters and call id search, no paging. */
export const requestExportQuery = usageFilters.extend({
  ...callSignalFilters,
  callId: callIdSearch.optional(),
});
export type RequestExportQuery = z.output<typeof requestExportQuery>;

/** The filter keys, in the order the pages write them into URLs. */
export const FILTER_KEYS = [
  "from",
  "to",
  "userId",
  "org",
  "keyId",
  "model",
  "kind",
  "status",
  "billing",
  "error",
] as const satisfies readonly (keyof UsageFilters)[];

// --- Spend and error-rate alerts ---

// overrun: micro-USD charged above their calls' reservations in the window (clause 45; any is an anomaly).
// unsafe_rate: basis points of the window's calls whose safety score is at least FLAGGED_SAFETY_SCORE.
export const ALERT_METRICS = ["spend_rate", "error_rate", "overrun", "unsafe_rate"] as const;
export const ALERT_SCOPES = ["platform", "user", "key"] as const;

/**
 * A threshold: micro-USD per hour for spend rate, basis points (1 % = 100) for error rate and unsafe rate, micro-USD
 * for overrun.
 */
const threshold = z
  .union([
    z.int(),
    z
      .string()
      .max(17)
      .regex(/^(0|[1-9][0-9]*)$/, "must be a whole number of digits"),
  ])
  .transform((value) => BigInt(value))
  .pipe(z.bigint().min(0n).max(BigInt(Number.MAX_SAFE_INTEGER)))
  .nullable();

const ruleFields = {
  name: z.string().trim().min(1).max(120),
  scope: z.enum(ALERT_SCOPES),
  userId: z.uuid().nullable().default(null),
  keyId: z.uuid().nullable().default(null),
  metric: z.enum(ALERT_METRICS),
  windowMinutes: z.int().min(5).max(1440).default(60),
  warnThreshold: threshold.default(null),
  criticalThreshold: threshold.default(null),
  minCalls: z.int().min(1).max(1_000_000).default(20),
  enabled: z.boolean().default(true),
};

function checkRule(
  rule: {
    scope?: string;
    userId?: string | null;
    keyId?: string | null;
    metric?: string;
    warnThreshold?: bigint | null;
    criticalThreshold?: bigint | null;
  },
  ctx: z.RefinementCtx,
) {
  if (rule.scope === "user" && !rule.userId)
    ctx.addIssue({ code: "custom", path: ["userId"], message: "required for a user rule" });
  if (rule.scope === "key" && !rule.keyId)
    ctx.addIssue({ code: "custom", path: ["keyId"], message: "required for a key rule" });
  if (rule.scope && rule.scope !== "user" && rule.userId)
    ctx.addIssue({ code: "custom", path: ["userId"], message: "only for a user rule" });
  if (rule.scope && rule.scope !== "key" && rule.keyId)
    ctx.addIssue({ code: "custom", path: ["keyId"], message: "only for a key rule" });
  const warn = rule.warnThreshold ?? null;
  const critical = rule.criticalThreshold ?? null;
  if (warn !== null && critical !== null && warn > critical)
    ctx.addIssue({ code: "custom", path: ["criticalThreshold"], message: "at least the warning threshold" });
  if (
    (rule.metric === "error_rate" || rule.metric === "unsafe_rate") &&
    ((warn ?? 0n) > 10_000n || (critical ?? 0n) > 10_000n)
  )
    ctx.addIssue({ code: "custom", path: ["warnThreshold"], message: "basis points: at most 10000 (100 %)" });
}

export const alertRuleBody = z.strictObject(ruleFields).superRefine((rule, ctx) => {
  if (rule.warnThreshold === null && rule.criticalThreshold === null)
    ctx.addIssue({
      code: "custom",
      path: ["warnThreshold"],
      message: "set a warning or a critical threshold",
    });
  checkRule(rule, ctx);
});
export type AlertRuleBody = z.output<typeof alertRuleBody>;

/** An edit changes the thresholds, window, name or switch; the scope and metric of a rule stay. */
export const alertRulePatch = z
  .strictObject({
    name: ruleFields.name.optional(),
    windowMinutes: z.int().min(5).max(1440).optional(),
    warnThreshold: threshold.optional(),
    criticalThreshold: threshold.optional(),
    minCalls: z.int().min(1).max(1_000_000).optional(),
    enabled: z.boolean().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { message: "nothing to change" });
export type AlertRulePatch = z.output<typeof alertRulePatch>;

export const alertSettingsBody = z
  .strictObject({
    /** Where notices are POSTed (http or https), or null to send none. */
    webhookUrl: z
      .url({ protocol: /^https?$/, error: "an http(s) URL" })
      .max(2000)
      .nullable()
      .optional(),
    rotateSecret: z.literal(true).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: "nothing to change" });

export const alertsQuery = z.strictObject({
  state: z.enum(["open", "all"]).default("all"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
