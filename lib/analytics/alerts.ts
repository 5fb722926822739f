import "server-only";
import { randomBytes } from "node:crypto";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, notFound } from "@/lib/http/errors";
import { SIGNATURE_HEADER, signWebhook } from "@/lib/http/webhook-signature";
import { log } from "@/lib/log";
import { enqueue } from "@/lib/queue";
import { assertAdmin } from "@/lib/users/assert-admin";
import { type ALERT_METRICS, type AlertRuleBody, type AlertRulePatch, FLAGGED_SAFETY_SCORE } from "./schemas";

// Spend-rate and error-rate alerts (docs/adr/0012). A cron tick enqueues one evaluation job; the job measures
// every enabled rule over its window in one statement and moves each rule's episode: opened when a threshold is
// crossed, escalated once from warning to critical, resolved when the value is back under the warning line.
// Each of those three notices is sent at most once per episode (a unique row per episode and event), signed like
// the usage webhooks, retried by the queue. A rule re-arms only once its episode has resolved.

export const ALERT_EVALUATE_JOB = "alerts.evaluate";
export const ALERT_DELIVER_JOB = "alerts.deliver";

export interface AlertRule {
  id: string;
  name: string;
  scope: "platform" | "user" | "key";
  userId: string | null;
  userEmail: string | null;
  keyId: string | null;
  keyLabel: string | null;
  metric: (typeof ALERT_METRICS)[number];
  windowMinutes: number;
  warnThreshold: bigint | null;
  criticalThreshold: bigint | null;
  minCalls: number;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** The open episode's severity, if the rule is firing now. */
  firing: "warning" | "critical" | null;
}

const ruleColumns = (db: Db) => db`
  r.id::text as id, r.name, r.scope, r.user_id::text as "userId", u.email as "userEmail", r.key_id::text as "keyId",
  case when k.id is null then null else k.name || ' (' || k.prefix || ')' end as "keyLabel", r.metric,
  r.window_minutes as "windowMinutes", r.warn_threshold as "warnThreshold", r.critical_threshold as "criticalThreshold",
  r.min_calls as "minCalls", r.enabled, r.created_at as "createdAt", r.updated_at as "updatedAt",
  (select ep.severity from alert_episodes ep where ep.rule_id = r.id and ep.cleared_at is null) as firing`;

const ruleFrom = (db: Db) => db`
  from alert_rules r left join users u on u.id = r.user_id left join api_keys k on k.id = r.key_id`;

export async function listRules(db: Db, actor: Actor): Promise<AlertRule[]> {
  assertAdmin(actor);
  return db<AlertRule[]>`select ${ruleColumns(db)} ${ruleFrom(db)} order by r.created_at, r.id`;
}

async function getRule(db: Db, id: string): Promise<AlertRule> {
  const [rule] = await db<AlertRule[]>`select ${ruleColumns(db)} ${ruleFrom(db)} where r.id = ${id}`;
  if (!rule) throw notFound("The alert rule");
  return rule;
}

export async function createRule(db: Db, actor: Actor, body: AlertRuleBody): Promise<AlertRule> {
  assertAdmin(actor);
  return inTransaction(db, async (tx) => {
    if (body.userId) {
      const [user] = await tx`select 1 from users where id = ${body.userId}`;
      if (!user) throw notFound("The user");
    }
    if (body.keyId) {
      const [key] = await tx`select 1 from api_keys where id = ${body.keyId}`;
      if (!key) throw notFound("The API key");
    }
    const [inserted] = await tx<{ id: string }[]>`
      insert into alert_rules (name, scope, user_id, key_id, metric, window_minutes, warn_threshold, critical_threshold,
                               min_calls, enabled, created_by)
      values (${body.name}, ${body.scope}, ${body.userId}, ${body.keyId}, ${body.metric}, ${body.windowMinutes},
              ${body.warnThreshold}, ${body.criticalThreshold}, ${body.minCalls}, ${body.enabled}, ${actor.userId})
      returning id::text as id`;
    const id = inserted!.id;
    const rule = await getRule(tx, id);
    await recordAudit(tx, actor, {
      action: "alert.rule.create",
      targetType: "alert_rule",
      targetId: id,
      after: rule,
    });
    return rule;
  });
}

export async function updateRule(
  db: Db,
  actor: Actor,
  id: string,
  patch: AlertRulePatch,
): Promise<AlertRule> {
  assertAdmin(actor);
  return inTransaction(db, async (tx) => {
    const before = await getRule(tx, id);
    const warn = patch.warnThreshold === undefined ? before.warnThreshold : patch.warnThreshold;
    const critical =
      patch.criticalThreshold === undefined ? before.criticalThreshold : patch.criticalThreshold;
    if (warn === null && critical === null) {
      throw new AppError("validation_failed", "A rule needs a warning or a critical threshold.", {
        issues: [{ path: "warnThreshold", message: "set a warning or a critical threshold" }],
      });
    }
    await tx`
      update alert_rules set
        name = ${patch.name ?? before.name},
        window_minutes = ${patch.windowMinutes ?? before.windowMinutes},
        warn_threshold = ${warn},
        critical_threshold = ${critical},
        min_calls = ${patch.minCalls ?? before.minCalls},
        enabled = ${patch.enabled ?? before.enabled}
      where id = ${id}`;
    // A rule switched off ends its episode quietly (no "resolved" notice: nothing was measured).
    if (patch.enabled === false) {
      await tx`update alert_episodes set cleared_at = now() where rule_id = ${id} and cleared_at is null`;
    }
    const after = await getRule(tx, id);
    await recordAudit(tx, actor, {
      action: "alert.rule.update",
      targetType: "alert_rule",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

export async function deleteRule(db: Db, actor: Actor, id: string): Promise<void> {
  assertAdmin(actor);
  await inTransaction(db, async (tx) => {
    const before = await getRule(tx, id);
    await tx`delete from alert_rules where id = ${id}`;
    await recordAudit(tx, actor, {
      action: "alert.rule.delete",
      targetType: "alert_rule",
      targetId: id,
      before,
    });
  });
}

export interface AlertEpisode {
  id: string;
  ruleId: string;
  ruleName: string;
  metric: (typeof ALERT_METRICS)[number];
  scope: string;
  target: string | null;
  severity: "warning" | "critical";
  peakSeverity: "warning" | "critical";
  value: bigint;
  threshold: bigint;
  lastValue: bigint;
  openedAt: Date;
  clearedAt: Date | null;
  deliveries: { event: string; status: string; attempts: number; lastError: string | null }[];
}

export async function listEpisodes(
  db: Db,
  actor: Actor,
  { state, limit }: { state: "open" | "all"; limit: number },
): Promise<AlertEpisode[]> {
  assertAdmin(actor);
  return db<AlertEpisode[]>`
    select ep.id::text as id, r.id::text as "ruleId", r.name as "ruleName", r.metric, r.scope,
           coalesce(u.email, k.name || ' (' || k.prefix || ')') as target, ep.severity, ep.peak_severity as "peakSeverity",
           ep.value, ep.threshold, ep.last_value as "lastValue", ep.opened_at as "openedAt", ep.cleared_at as "clearedAt",
           coalesce((select json_agg(json_build_object('event', d.event, 'status', d.status, 'attempts', d.attempts,
                                                       'lastError', d.last_error) order by d.created_at)
                     from alert_deliveries d where d.episode_id = ep.id), '[]') as deliveries
    from alert_episodes ep
    join alert_rules r on r.id = ep.rule_id
    left join users u on u.id = r.user_id
    left join api_keys k on k.id = r.key_id
    ${state === "open" ? db`where ep.cleared_at is null` : db``}
    order by ep.cleared_at is null desc, ep.opened_at desc
    limit ${limit}`;
}

export const openEpisodes = (db: Db, actor: Actor) => listEpisodes(db, actor, { state: "open", limit: 50 });

export interface AlertSettings {
  webhookUrl: string | null;
  signingSecret: string;
  updatedAt: Date;
}

export async function getAlertSettings(db: Db, actor: Actor): Promise<AlertSettings> {
  assertAdmin(actor);
  const [row] = await db<AlertSettings[]>`
    select webhook_url as "webhookUrl", signing_secret as "signingSecret", updated_at as "updatedAt" from alert_settings`;
  return row!;
}

export async function updateAlertSettings(
  db: Db,
  actor: Actor,
  body: { webhookUrl?: string | null; rotateSecret?: true },
): Promise<AlertSettings> {
  assertAdmin(actor);
  return inTransaction(db, async (tx) => {
    const before = await getAlertSettings(tx, actor);
    const secret = body.rotateSecret ? randomBytes(32).toString("hex") : before.signingSecret;
    const url = body.webhookUrl === undefined ? before.webhookUrl : body.webhookUrl;
    await tx`update alert_settings set webhook_url = ${url}, signing_secret = ${secret}, updated_at = now()`;
    const after = await getAlertSettings(tx, actor);
    // The secret itself never enters the audit log: only whether it changed.
    await recordAudit(tx, actor, {
      action: "alert.settings",
      targetType: "alert_settings",
      before: { webhookUrl: before.webhookUrl },
      after: { webhookUrl: after.webhookUrl, secretRotated: Boolean(body.rotateSecret) },
    });
    return after;
  });
}

type Severity = "warning" | "critical";

interface Measured {
  id: string;
  metric: (typeof ALERT_METRICS)[number];
  warn: bigint | null;
  critical: bigint | null;
  value: bigint;
  episodeId: string | null;
  episodeSeverity: Severity | null;
  peak: Severity | null;
}

function severityOf(m: Measured): Severity | null {
  if (m.critical !== null && m.value >= m.critical) return "critical";
  if (m.warn !== null && m.value >= m.warn) return "warning";
  return null;
}

export interface EvaluationSummary {
  rules: number;
  opened: number;
  escalated: number;
  resolved: number;
}

/**
 * Measures every enabled rule over its window ending `now` and moves its episode. Spend rate is what the calls in
 * the window were charged, scaled to an hour (micro-USD/hour); error rate is failed ÷ all calls in basis points,
 * 0 below the rule's minimum number of calls; unsafe rate is flagged ÷ all calls in basis points (flagged: a safety
 * score of at least FLAGGED_SAFETY_SCORE), 0 below the minimum too; overrun is the micro-USD charged above their
 * calls' reservations. One transaction; rules are locked so two evaluations cannot race.
 */
export async function evaluateAlerts(db: Db, now = new Date()): Promise<EvaluationSummary> {
  return inTransaction(db, async (tx) => {
    const measured = await tx<Measured[]>`
      with rules as (
        select * from alert_rules where enabled order by id for update
      )
      select r.id::text as id, r.metric, r.warn_threshold as warn, r.critical_threshold as critical,
             case when r.metric = 'spend_rate' then (v.revenue * 60 / r.window_minutes)::bigint
                  when r.metric = 'overrun' then v.overrun::bigint
                  when v.calls < r.min_calls then 0::bigint
                  when r.metric = 'unsafe_rate' then (v.flagged * 10000 / v.calls)::bigint
                  else (v.failures * 10000 / v.calls)::bigint end as value,
             ep.id::text as "episodeId", ep.severity as "episodeSeverity", ep.peak_severity as peak
      from rules r
      cross join lateral (
        select count(*) as calls, count(*) filter (where e.status = 'failure') as failures,
               count(*) filter (where e.safety_score >= ${FLAGGED_SAFETY_SCORE}) as flagged,
               coalesce(sum(e.revenue_micros), 0) as revenue, coalesce(sum(e.overrun_micros), 0) as overrun
        from usage_events e
        where e.started_at >= ${now}::timestamptz - make_interval(mins => r.window_minutes)
          and e.started_at < ${now}::timestamptz
          -- A user's calls are their keys' (docs/adr/0037; a row does not store its user: docs/adr/0040).
          and (r.scope = 'platform'
               or (r.scope = 'user' and e.key_id = any(array(select uk.id from api_keys uk where uk.user_id = r.user_id)))
               or (r.scope = 'key' and e.key_id = r.key_id))
      ) v
      left join alert_episodes ep on ep.rule_id = r.id and ep.cleared_at is null`;
    const [settings] = await tx<{ url: string | null }[]>`select webhook_url as url from alert_settings`;
    const summary: EvaluationSummary = { rules: measured.length, opened: 0, escalated: 0, resolved: 0 };
    const notify = async (episodeId: string, event: "opened" | "escalated" | "resolved") => {
      if (!settings?.url) return;
      const [delivery] = await tx<{ id: string }[]>`
        insert into alert_deliveries (episode_id, event, url) values (${episodeId}, ${event}, ${settings.url})
        on conflict (episode_id, event) do nothing returning id::text as id`;
      if (delivery) {
        await enqueue(
          tx,
          ALERT_DELIVER_JOB,
          { deliveryId: delivery.id },
          { maxAttempts: 8, backoffBaseMs: 5_000 },
        );
      }
    };
    for (const m of measured) {
      const severity = severityOf(m);
      const threshold = severity === "critical" ? m.critical! : (m.warn ?? m.critical!);
      if (!m.episodeId && severity) {
        const [episode] = await tx<{ id: string }[]>`
          insert into alert_episodes (rule_id, severity, peak_severity, value, threshold, last_value, opened_at,
                                      last_evaluated_at)
          values (${m.id}, ${severity}, ${severity}, ${m.value}, ${threshold}, ${m.value}, ${now}, ${now})
          returning id::text as id`;
        summary.opened++;
        await notify(episode!.id, "opened");
      } else if (m.episodeId && severity) {
        const escalates = severity === "critical" && m.peak === "warning";
        await tx`
          update alert_episodes set severity = ${severity}, last_value = ${m.value}, last_evaluated_at = ${now},
            peak_severity = case when ${escalates} then 'critical' else peak_severity end,
            threshold = case when ${escalates} then ${threshold} else threshold end,
            value = greatest(value, ${m.value})
          where id = ${m.episodeId}`;
        if (escalates) {
          summary.escalated++;
          await notify(m.episodeId, "escalated");
        }
      } else if (m.episodeId) {
        await tx`
          update alert_episodes set cleared_at = ${now}, last_value = ${m.value}, last_evaluated_at = ${now}
          where id = ${m.episodeId}`;
        summary.resolved++;
        await notify(m.episodeId, "resolved");
      }
    }
    if (summary.opened || summary.escalated || summary.resolved)
      log().info({ ...summary }, "alerts evaluated");
    return summary;
  });
}

/** Enqueues this minute's evaluation (at most one unfinished at a time). Called by the cron drain. */
export async function scheduleAlertEvaluation(db: Db): Promise<void> {
  await enqueue(db, ALERT_EVALUATE_JOB, {}, { singletonKey: ALERT_EVALUATE_JOB, maxAttempts: 3 });
}

/**
 * Sends one notice: POST JSON to the webhook URL recorded with it, signed with the current secret
 * (`x-tollgate-signature: t=…,v1=HMAC-SHA256(secret, "t.body")`). A non-2xx answer or a network error throws,
 * and the queue retries with backoff; a delivered notice is never sent again.
 */
export async function deliverAlert(
  db: Db,
  { deliveryId }: { deliveryId: string },
  { timeoutMs = 10_000 }: { timeoutMs?: number } = {},
): Promise<{ status: number } | { skipped: string }> {
  const [row] = await db<
    {
      status: string;
      url: string;
      event: string;
      secret: string;
      episode: Record<string, unknown>;
    }[]
  >`
    select d.status, d.url, d.event, s.signing_secret as secret,
           json_build_object('id', ep.id, 'severity', ep.severity, 'peakSeverity', ep.peak_severity,
                             'value', ep.value::text, 'threshold', ep.threshold::text, 'lastValue', ep.last_value::text,
                             'openedAt', ep.opened_at, 'clearedAt', ep.cleared_at,
                             'rule', json_build_object('id', r.id, 'name', r.name, 'metric', r.metric, 'scope', r.scope,
                                                       'userId', r.user_id, 'keyId', r.key_id,
                                                       'windowMinutes', r.window_minutes,
                                                       'unit', case r.metric when 'spend_rate' then 'micro-USD per hour'
                                                                             else 'basis points' end)) as episode
    from alert_deliveries d
    join alert_episodes ep on ep.id = d.episode_id
    join alert_rules r on r.id = ep.rule_id
    cross join alert_settings s
    where d.id = ${deliveryId}`;
  if (!row) return { skipped: "gone" };
  if (row.status === "delivered") return { skipped: "already delivered" };
  const body = JSON.stringify({
    type: `alert.${row.event}`,
    alert: row.episode,
    sentAt: new Date().toISOString(),
  });
  let status = 0;
  try {
    const res = await fetch(row.url, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: signWebhook(row.secret, body) },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = res.status;
    await res.body?.cancel();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await db`
      update alert_deliveries set attempts = attempts + 1, last_error = ${message.slice(0, 500)}
      where id = ${deliveryId}`;
    throw new Error(`alert webhook unreachable: ${message}`);
  }
  if (status < 200 || status >= 300) {
    await db`
      update alert_deliveries set attempts = attempts + 1, response_status = ${status},
        last_error = ${`answered ${status}`}
      where id = ${deliveryId}`;
    throw new Error(`alert webhook answered ${status}`);
  }
  await db`
    update alert_deliveries set status = 'delivered', attempts = attempts + 1, response_status = ${status},
      delivered_at = now(), last_error = null
    where id = ${deliveryId}`;
  return { status };
}

/** The queue gave up on a notice: mark it failed so the alerts page says so. */
export async function markDeliveryFailed(db: Db, deliveryId: string): Promise<void> {
  await db`update alert_deliveries set status = 'failed' where id = ${deliveryId} and status = 'pending'`;
}
