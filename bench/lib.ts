// Shared pieces of the benchmarks: open-loop load at a fixed rate, percentiles, and docs/benchmarks.md sections.
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface Sample {
  ms: number;
  ok: boolean;
}

/** Sends `count` requests at `ratePerSecond` on a fixed schedule (not waiting for answers), returns latencies. */
export async function openLoop(
  count: number,
  ratePerSecond: number,
  send: (i: number) => Promise<boolean>,
): Promise<Sample[]> {
  const start = performance.now();
  const pending: Promise<Sample>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / ratePerSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    pending.push(
      send(i).then(
        (ok) => ({ ms: performance.now() - t0, ok }),
        () => ({ ms: performance.now() - t0, ok: false }),
      ),
    );
  }
  return Promise.all(pending);
}

/** The order n paths take their turns in a round: rotated by one each round, so none always runs in the same slot
 * (after the same other path, or first after a pause). */
export function turnOrder(n: number, round: number): number[] {
  return Array.from({ length: n }, (_, k) => (k + round) % n);
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Summary {
  n: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

export function summarize(samples: Sample[]): Summary {
  const ok = samples.filter((s) => s.ok).map((s) => s.ms);
  const sorted = [...ok].sort((a, b) => a - b);
  return {
    n: samples.length,
    errors: samples.length - ok.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: ok.reduce((a, b) => a + b, 0) / Math.max(1, ok.length),
  };
}

export const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "—");
export const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "—");

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** Replaces the section between `<!-- bench:NAME -->` markers in docs/benchmarks.md (adds it if missing). */
export function writeSection(name: string, markdown: string, file = "docs/benchmarks.md") {
  let doc: string;
  try {
    doc = readFileSync(file, "utf8");
  } catch {
    doc =
      "# Benchmarks\n\nFigures measured by the scripts in `bench/`; each section is rewritten by its script.\n";
  }
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const re = new RegExp(`${begin}[\\s\\S]*?${end}`);
  doc = re.test(doc) ? doc.replace(re, block) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, doc);
}

/**
 * A freshly created, migrated database on an embedded PostgreSQL 15 with default durability (benchmarks
 * measure durable commits). stop() ends the connection and the server.
 */
export async function freshBenchDatabase(
  name: string,
  maxConnections: number,
  { dir = ".data/pg-bench", port = 25434 }: { dir?: string; port?: number } = {},
) {
  const { createClient } = await import("@/lib/db/client");
  const { startEmbeddedPostgres } = await import("@/lib/db/embedded");
  const { migrate } = await import("@/lib/db/migrate");
  process.stdout.write("▸ starting a fresh embedded PostgreSQL (default durability)… ");
  const pg = await startEmbeddedPostgres({
    dir: path.resolve(dir),
    port: Number(process.env.BENCH_PG_PORT ?? port),
  });
  const admin = createClient({ url: pg.url(), max: 1 });
  await admin`drop database if exists ${admin(name)} with (force)`;
  await admin`create database ${admin(name)}`;
  await admin.end();
  const url = pg.url(name);
  const sql = createClient({ url, max: maxConnections });
  await migrate(sql);
  console.log("ready");
  return {
    sql,
    url,
    stop: async () => {
      await sql.end();
      await pg.stop();
    },
  };
}
