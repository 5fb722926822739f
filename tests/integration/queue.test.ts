// The job queue on real PostgreSQL: exclusive claims under concurrency, leases, backoff, dead letters,
// singleton keys, transactional enqueue, archival.
import { describe, expect, it } from "vitest";
import { createClient } from "@/lib/db/client";
import {
  archiveCompleted,
  backoffMs,
  claim,
  complete,
  enqueue,
  fail,
  queueStats,
  reapExpired,
  release,
  retryDead,
} from "@/lib/queue";
import { createTestDatabase } from "../helpers/db";

const { sql, url, prepare } = await createTestDatabase();

async function state(id: string) {
  const [row] = await sql`select state, attempts, run_after, last_error from queue_jobs where id = ${id}`;
  return row!;
}

describe("queue", () => {
  it("N workers in parallel never run a job twice", async () => {
    await sql`delete from queue_jobs`;
    const total = 300;
    for (let i = 0; i < total; i++) await enqueue(sql, "parallel", { i });
    const pool = createClient({ url, max: 8, prepare });
    const ran: number[] = [];
    try {
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const worker = `w${w}`;
          while (true) {
            const jobs = await claim(pool, { names: ["parallel"], batch: 7, worker });
            if (!jobs.length) break;
            for (const job of jobs) {
              ran.push((job.payload as { i: number }).i);
              expect(await complete(pool, job.id, worker)).toBe(true);
            }
          }
        }),
      );
    } finally {
      await pool.end();
    }
    expect(ran).toHaveLength(total);
    expect(new Set(ran).size).toBe(total);
    expect((await queueStats(sql)).completed).toBe(total);
  });

  it("claims by priority, then run-after; future jobs wait", async () => {
    await sql`delete from queue_jobs`;
    await enqueue(sql, "order", { n: "low" }, { priority: 0 });
    await enqueue(sql, "order", { n: "high" }, { priority: 10 });
    await enqueue(sql, "order", { n: "later" }, { priority: 100, delaySeconds: 3600 });
    const jobs = await claim(sql, { names: ["order"], batch: 5, worker: "w" });
    expect(jobs.map((j) => (j.payload as { n: string }).n)).toEqual(["high", "low"]);
  });

  it("a crashed worker's job is claimed again after its lease expires", async () => {
    const { job } = await enqueue(sql, "lease", {});
    // Within the lease, by construction rather than by speed: `other` claims in a transaction whose now() (its start)
    // comes before the lease was even taken, however slow this host is.
    await sql.begin(async (tx) => {
      await tx`select now()`;
      const [first] = await claim(sql, { names: ["lease"], worker: "dies", leaseSeconds: 1 });
      expect(first!.id).toBe(job.id);
      expect(await claim(tx, { names: ["lease"], worker: "other" })).toHaveLength(0);
    });
    await new Promise((r) => setTimeout(r, 1100));
    const [again] = await claim(sql, { names: ["lease"], worker: "other" });
    expect(again).toMatchObject({ id: job.id, attempts: 2 });
    // The dead worker can no longer complete it; the new holder can.
    expect(await complete(sql, job.id, "dies")).toBe(false);
    expect(await complete(sql, job.id, "other")).toBe(true);
  });

  it("retries with exponential backoff and jitter, then goes dead after max attempts", async () => {
    const { job } = await enqueue(sql, "flaky", {}, { maxAttempts: 3, backoffBaseMs: 200 });
    await claim(sql, { names: ["flaky"], worker: "w" });
    // Not due before its backoff, by construction rather than by speed: the claim runs in a transaction whose now()
    // (its start) precedes the failure, so it stands before run_after however slow this host is (the suite once
    // failed here when a loaded CI host took longer than the 100 ms backoff between the failure and a later claim).
    // The failure runs in a transaction of its own, whose now() is the one its backoff counts from.
    const s1 = await sql.begin(async (tx) => {
      await tx`select now()`;
      const failedAt = await sql.begin(async (f) => {
        const [row] = await f<{ at: Date }[]>`select now() as at`;
        expect(await fail(f, job.id, "w", new Error("boom 1"))).toBe("retry");
        return row!.at.getTime();
      });
      expect(await claim(tx, { names: ["flaky"], worker: "w" })).toHaveLength(0); // not due yet
      const failed = await state(job.id);
      // base 200 ms on the first attempt, ±50%
      const delay = new Date(failed.run_after).getTime() - failedAt;
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThanOrEqual(300);
      return failed;
    });
    expect(s1).toMatchObject({ state: "retry", attempts: 1, last_error: "boom 1" });
    await new Promise((r) => setTimeout(r, 320));
    await claim(sql, { names: ["flaky"], worker: "w" });
    expect(await fail(sql, job.id, "w", "boom 2")).toBe("retry");
    await new Promise((r) => setTimeout(r, 620));
    await claim(sql, { names: ["flaky"], worker: "w" });
    expect(await fail(sql, job.id, "w", "boom 3")).toBe("dead");
    expect(await state(job.id)).toMatchObject({ state: "dead", attempts: 3, last_error: "boom 3" });
    expect(await claim(sql, { names: ["flaky"], worker: "w" })).toHaveLength(0);
    // An admin puts it back.
    expect(await retryDead(sql, job.id)).toBe(true);
    expect(await claim(sql, { names: ["flaky"], worker: "w" })).toHaveLength(1);
  });

  it("a job that dies, by its last failure or by a last lease running out, keeps no payload token", async () => {
    const { job: failing } = await enqueue(
      sql,
      "secret-fail",
      { token: "s3cret-a", id: 1 },
      { maxAttempts: 1 },
    );
    await claim(sql, { names: ["secret-fail"], worker: "w" });
    expect(await fail(sql, failing.id, "w", "smtp down")).toBe("dead");
    const { job: vanished } = await enqueue(
      sql,
      "secret-lease",
      { token: "s3cret-b", id: 2 },
      { maxAttempts: 1 },
    );
    await claim(sql, { names: ["secret-lease"], worker: "dies", leaseSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await reapExpired(sql)).toBeGreaterThanOrEqual(1);
    const { job: retried } = await enqueue(sql, "secret-retry", { token: "s3cret-c" }, { maxAttempts: 2 });
    await claim(sql, { names: ["secret-retry"], worker: "w" });
    expect(await fail(sql, retried.id, "w", "once")).toBe("retry");
    const rows = await sql<{ id: string; state: string; payload: unknown }[]>`
      select id::text, state, payload from queue_jobs where id in (${failing.id}, ${vanished.id}, ${retried.id})
      order by id`;
    expect(rows.map((r) => [r.state, r.payload])).toEqual([
      ["dead", { id: 1 }],
      ["dead", { id: 2 }],
      ["retry", { token: "s3cret-c" }], // it may still run: the token stays
    ]);
  });

  it("a released job is back as it was before its claim, and only its worker can release it", async () => {
    await sql`delete from queue_jobs`;
    const fresh = (await enqueue(sql, "release-fresh", {})).job.id;
    const again = (await enqueue(sql, "release-again", {}, { maxAttempts: 5, backoffBaseMs: 1 })).job.id;
    // `again` failed once already: it is claimed on its second attempt.
    const [first] = await claim(sql, { names: ["release-again"], worker: "w1" });
    await fail(sql, first!.id, "w1", new Error("boom"));
    await sql`update queue_jobs set run_after = now() where id = ${again}`;
    const [before] = await sql`select started_at from queue_jobs where id = ${again}`;
    const claimed = await claim(sql, { names: ["release-fresh", "release-again"], batch: 2, worker: "w2" });
    expect(claimed.map((j) => j.id).sort()).toEqual([fresh, again].sort());
    expect(await release(sql, [fresh, again], "someone-else")).toBe(0);
    expect(await release(sql, [fresh, again], "w2")).toBe(2);
    const rows = await sql`
      select id::text, state, attempts, started_at, locked_by, lease_expires_at, run_after <= now() as due
      from queue_jobs where id in (${fresh}, ${again}) order by id`;
    expect(rows.find((r) => r.id === String(fresh))).toMatchObject({
      state: "created",
      attempts: 0,
      started_at: null,
      locked_by: null,
      lease_expires_at: null,
      due: true,
    });
    expect(rows.find((r) => r.id === String(again))).toMatchObject({
      state: "retry",
      attempts: 1,
      started_at: before!.started_at,
      locked_by: null,
      due: true,
    });
    // Released, each is claimed again at once, on the attempt it would have had.
    const reclaimed = await claim(sql, { names: ["release-fresh", "release-again"], batch: 2, worker: "w3" });
    expect(reclaimed.map((j) => [j.id, j.attempts]).sort()).toEqual(
      [
        [fresh, 1],
        [again, 2],
      ].sort(),
    );
    // A dead job an admin put back starts over: claimed and released unrun, it has no start and no attempt.
    const dead = (await enqueue(sql, "release-dead", {}, { maxAttempts: 1 })).job.id;
    await claim(sql, { names: ["release-dead"], worker: "w4" });
    expect(await fail(sql, dead, "w4", "boom")).toBe("dead");
    const [retried] = await sql<{ at: Date }[]>`select clock_timestamp() as at`;
    expect(await retryDead(sql, dead)).toBe(true);
    await claim(sql, { names: ["release-dead"], worker: "w5" });
    // Started by this claim, not when it first ran before it died.
    const [running] =
      await sql`select started_at >= ${retried!.at} as fresh from queue_jobs where id = ${dead}`;
    expect(running!.fresh).toBe(true);
    expect(await release(sql, [dead], "w5")).toBe(1);
    expect((await sql`select state, attempts, started_at from queue_jobs where id = ${dead}`)[0]).toEqual({
      state: "retry",
      attempts: 0,
      started_at: null,
    });
    expect((await claim(sql, { names: ["release-dead"], worker: "w6" }))[0]?.attempts).toBe(1);
  });

  it("backoff doubles per attempt within ±50% jitter", () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(a, 1000, () => 0.5))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(3, 1000, () => 0)).toBe(2000);
    expect(backoffMs(3, 1000, () => 1)).toBe(6000);
    expect(backoffMs(40, 1000, () => 0.5)).toBe(3_600_000);
  });

  it("a singleton key allows one unfinished job, and a new one once it is done", async () => {
    const a = await enqueue(sql, "settle", { day: "2026-01-01" }, { singletonKey: "settle:2026-01-01" });
    const b = await enqueue(sql, "settle", { day: "2026-01-01" }, { singletonKey: "settle:2026-01-01" });
    expect(a.created).toBe(true);
    expect(b).toMatchObject({ created: false, job: { id: a.job.id } });
    const [job] = await claim(sql, { names: ["settle"], worker: "w" });
    await complete(sql, job!.id, "w");
    const c = await enqueue(sql, "settle", { day: "2026-01-01" }, { singletonKey: "settle:2026-01-01" });
    expect(c.created).toBe(true);
  });

  it("an enqueue inside a transaction is rolled back with it", async () => {
    await expect(
      sql.begin(async (tx) => {
        await enqueue(tx, "txn", { n: 1 });
        throw new Error("rollback");
      }),
    ).rejects.toThrow("rollback");
    const [row] = await sql`select count(*)::int as n from queue_jobs where name = 'txn'`;
    expect(row!.n).toBe(0);
  });

  it("archives old completed jobs and keeps the rest", async () => {
    const { job } = await enqueue(sql, "old", {});
    await claim(sql, { names: ["old"], worker: "w" });
    await complete(sql, job.id, "w");
    await sql`update queue_jobs set completed_at = now() - interval '30 days' where id = ${job.id}`;
    const removed = await archiveCompleted(sql, 24);
    expect(removed).toBeGreaterThanOrEqual(1);
    expect(await sql`select 1 from queue_jobs where id = ${job.id}`).toHaveLength(0);
  });
});
