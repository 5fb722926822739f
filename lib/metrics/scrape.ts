import "server-only";
import type { Db } from "@/lib/db/client";
import { metrics } from "./registry";

/** Reads the database-backed gauges, then renders every metric in Prometheus' text format. */
export async function scrape(db: Db): Promise<{ contentType: string; body: string }> {
  const m = metrics();
  const [jobs, [holds], [leases], [run], [retention]] = await Promise.all([
    db<{ state: string; n: number }[]>`select state, count(*)::int as n from queue_jobs group by state`,
    db<{ n: number; micros: bigint }[]>`
      select count(*)::int as n, coalesce(sum(amount_micros), 0)::bigint as micros from holds where status = 'open'`,
    db<{ n: number; micros: bigint }[]>`
      select count(*)::int as n, coalesce(sum(reserved_micros), 0)::bigint as micros
      from leases where status in ('open', 'closing')`,
    db<{ seconds: number | null; day: number | null }[]>`
      select extract(epoch from finished_at - started_at)::float8 as seconds,
             extract(epoch from day::timestamp at time zone 'utc')::float8 as day
      from settlement_runs where finished_at is not null order by finished_at desc limit 1`,
    // A failed run says so, and keeps the refusals of the last completed run it did not get past (it may have
    // failed before looking at those days: 0 would clear the alert while they are still there).
    db<{ refused: number; dropped: number; finished: number; failed: number }[]>`
      select greatest(r.days_refused, case when r.status = 'failed' then coalesce((
               select c.days_refused from retention_runs c where c.status = 'completed'
               order by c.finished_at desc limit 1), 0) else 0 end) as refused,
             r.partitions_dropped as dropped, extract(epoch from r.finished_at)::float8 as finished,
             (r.status = 'failed')::int as failed
      from retention_runs r where r.finished_at is not null order by r.finished_at desc limit 1`,
  ]);
  m.queueJobs.reset();
  for (const state of ["created", "active", "retry", "completed", "dead"])
    m.queueJobs.set({ state }, jobs.find((j) => j.state === state)?.n ?? 0);
  m.openHolds.set({ measure: "count" }, holds!.n);
  m.openHolds.set({ measure: "micros" }, Number(holds!.micros));
  m.openLeases.set({ measure: "count" }, leases!.n);
  m.openLeases.set({ measure: "micros" }, Number(leases!.micros));
  if (run?.seconds != null) {
    m.lastSettlement.set({ measure: "duration_seconds" }, run.seconds);
    m.lastSettlement.set({ measure: "day_unixtime" }, run.day ?? 0);
  }
  if (retention) {
    m.lastRetention.set({ measure: "days_refused" }, retention.refused);
    m.lastRetention.set({ measure: "partitions_dropped" }, retention.dropped);
    m.lastRetention.set({ measure: "finished_unixtime" }, retention.finished);
    m.lastRetention.set({ measure: "failed" }, retention.failed);
  }
  return { contentType: m.registry.contentType, body: await m.registry.metrics() };
}
