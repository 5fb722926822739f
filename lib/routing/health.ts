import "server-only";
import type { Actor } from "@/lib/auth/types";
import { NOT_SENT_ERRORS } from "@/lib/billing/contract";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { assertAdmin } from "@/lib/users/assert-admin";
import { type GatewayHealth, gatewayHealthAnswer, type ModelHealthRow } from "./schemas";

/**
 * The most rows model health reads for its latencies: a window of up to this many calls is read whole (through the
 * time index); past it, a sample of the window's UTC-day partitions that reads about this many rows.
 */
export const HEALTH_SAMPLE_CALLS = 200_000;

const HOUR_MS = 3_600_000;

/**
 * Per model group over the last `hours` before `now` (started_at in (now − hours, now]): calls, failures (status
 * failure; a cut stream served), error rate, p50/p95 latency (started → ended) and p50/p95 time to first token (streams
 * that reported one). A call the gateway never sent (NOT_SENT_ERRORS) reached no model and is left out.
 * - Calls and failures are exact: the whole UTC hours inside the window from usage_hourly (kept with every insert, in
 *   its statement), less those hours' calls never sent (the failures index: status not success), and the partial hours
 *   at the window's two ends from their rows (usage_events_started_idx).
 * - Latencies are read from the window's calls, all of them up to HEALTH_SAMPLE_CALLS, else from a sample
 *   (TABLESAMPLE SYSTEM: whole pages, each a batch of calls as recorded) of the UTC-day partitions the window touches,
 *   sized to read about HEALTH_SAMPLE_CALLS of their rows (a percent of a partition reads that percent of all its
 *   rows, not of the window's); `sampledCalls` says how many calls each model's latencies come from. At ten million
 *   calls a day, reading every call of the last 24 hours took seconds (1.2 s at one million: docs/benchmarks.md).
 * A call never sent is a failure (status not success) with a not-sent error class: a success was served, whatever
 * its error class says.
 */
export async function modelHealth(db: Db, actor: Actor, now: Date, hours: number): Promise<ModelHealthRow[]> {
  assertAdmin(actor);
  const start = new Date(now.getTime() - hours * HOUR_MS);
  // Whole hours strictly after start (an hour starting at `start` holds a call at `start`, which is out), up to the
  // hour holding `now`.
  const fullFrom = new Date(Math.floor(start.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS);
  const fullTo = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
  const sent = db`(e.status = 'success' or e.error_class is null or e.error_class <> all(${NOT_SENT_ERRORS}))`;
  const counts = await db<{ model_group: string; calls: number; failures: number }[]>`
    select model_group, sum(calls)::int as calls, sum(failures)::int as failures
    from (
      select h.model_group, sum(h.calls) as calls,
             coalesce(sum(h.calls) filter (where h.status = 'failure'), 0) as failures
      from usage_hourly h
      where h.hour >= (${fullFrom}::timestamptz at time zone 'utc')
        and h.hour < (${fullTo}::timestamptz at time zone 'utc')
      group by h.model_group
      union all
      select e.model_group, -count(*), -count(*) filter (where e.status = 'failure')
      from usage_events e
      where e.started_at >= ${fullFrom} and e.started_at < ${fullTo} and e.status <> 'success'
        and e.error_class = any(${NOT_SENT_ERRORS})
      group by e.model_group
      union all
      select e.model_group, count(*), count(*) filter (where e.status = 'failure')
      from usage_events e where e.started_at > ${start} and e.started_at < ${fullFrom} and ${sent}
      group by e.model_group
      union all
      select e.model_group, count(*), count(*) filter (where e.status = 'failure')
      from usage_events e where e.started_at >= ${fullTo} and e.started_at <= ${now} and ${sent}
      group by e.model_group
    ) c
    group by model_group
    having sum(calls) > 0
    order by model_group`;
  const total = counts.reduce((n, r) => n + r.calls, 0);
  // Past the cap, the percent of the partitions' pages to read: about HEALTH_SAMPLE_CALLS of all their rows (the calls
  // of every UTC day the window touches, from the hourly roll-ups).
  let percent: number | null = null;
  if (total > HEALTH_SAMPLE_CALLS) {
    const [days] = await db<{ calls: number }[]>`
      select coalesce(sum(h.calls), 0)::float8 as calls from usage_hourly h
      where h.hour >= date_trunc('day', ${start}::timestamptz at time zone 'utc')
        and h.hour < date_trunc('day', ${now}::timestamptz at time zone 'utc') + interval '1 day'`;
    percent = Math.min(100, (100 * HEALTH_SAMPLE_CALLS) / Math.max(days!.calls, total));
  }
  const latencies = await db<
    {
      model_group: string;
      sampled: number;
      latency_p50: number | null;
      latency_p95: number | null;
      ttft_p50: number | null;
      ttft_p95: number | null;
    }[]
  >`
    select e.model_group, count(*)::int as sampled,
           percentile_cont(0.5) within group (order by extract(epoch from e.ended_at - e.started_at) * 1000)
             filter (where e.status <> 'failure') as latency_p50,
           percentile_cont(0.95) within group (order by extract(epoch from e.ended_at - e.started_at) * 1000)
             filter (where e.status <> 'failure') as latency_p95,
           percentile_cont(0.5) within group (order by extract(epoch from e.first_token_at - e.started_at) * 1000)
             filter (where e.first_token_at is not null) as ttft_p50,
           percentile_cont(0.95) within group (order by extract(epoch from e.first_token_at - e.started_at) * 1000)
             filter (where e.first_token_at is not null) as ttft_p95
    from usage_events e ${percent === null ? db`` : db`tablesample system (${percent}::real)`}
    where e.started_at > ${start} and e.started_at <= ${now} and ${sent}
    group by e.model_group`;
  const byModel = new Map(latencies.map((l) => [l.model_group, l]));
  const ms = (v: number | null | undefined) => (v == null ? null : Math.round(Number(v)));
  return counts.map((r) => {
    const l = byModel.get(r.model_group);
    return {
      modelGroup: r.model_group,
      calls: r.calls,
      failures: r.failures,
      errorRate: r.calls ? r.failures / r.calls : 0,
      latencyP50Ms: ms(l?.latency_p50),
      latencyP95Ms: ms(l?.latency_p95),
      ttftP50Ms: ms(l?.ttft_p50),
      ttftP95Ms: ms(l?.ttft_p95),
      sampledCalls: l?.sampled ?? 0,
    };
  });
}

/** Which models rest now, as the gateway's breaker sees them (GET /tollgate/routing/health, gateway secret). */
export async function gatewayHealth(
  actor: Actor,
): Promise<{ reachable: true; health: GatewayHealth } | { reachable: false; error: string }> {
  assertAdmin(actor);
  const cfg = config();
  try {
    const res = await fetch(new URL("/tollgate/routing/health", cfg.LITELLM_URL), {
      headers: { authorization: `Bearer ${cfg.GATEWAY_SECRET}` },
      signal: AbortSignal.timeout(3000),
      cache: "no-store",
    });
    if (!res.ok) return { reachable: false, error: `the gateway answered HTTP ${res.status}` };
    return { reachable: true, health: gatewayHealthAnswer.parse(await res.json()) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { reachable: false, error: `the gateway could not be reached (${reason})` };
  }
}
