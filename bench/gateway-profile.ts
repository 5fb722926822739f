// bench/gateway-profile: where a LiteLLM process spends its CPU per call, bare and with Tollgate, at the same rate.
//
// Starts the test stack (PostgreSQL, the platform, the fake upstream, LiteLLM + Tollgate), a bare LiteLLM (the same
// config without Tollgate, master key) and one with Tollgate's auth only, then drives the same non-streaming calls at a
// fixed open-loop rate through each, in interleaved rounds. CPU milliseconds per call come from /proc (the figure
// capacity follows); in the last round py-spy samples each process for the functions with the most time. Flame graphs stay out of the repository (BENCH_PROFILE_DIR keeps the
// raw stacks, default .data/profiles). Rewrites its section of docs/benchmarks.md.
//
//   npm run bench:profile            (BENCH_PROFILE_RATE=40, BENCH_PROFILE_SECONDS=15, BENCH_PROFILE_ROUNDS=3,
//                                     BENCH_PROFILE_BEFORE=<git revision>: also the lease path with that revision's
//                                     plugin, in the same rounds, for a same-run before and after)
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { ProcessGroup } from "@/scripts/stack/processes";
import { TEST_MASTER_KEY } from "@/tests/stack/start";
import {
  benchDeveloper,
  benchGateway,
  checkoutOf,
  derivedConfig,
  PIN,
  pidOnPort,
  pinBenchmark,
  pinGateways,
  ping,
  startBenchStack,
} from "./gateway-setup";
import { f1, f2, machine, openLoop, summarize, turnOrder, writeSection } from "./lib";

const RATE = Number(process.env.BENCH_PROFILE_RATE ?? 40);
const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 15);
const SAMPLE_HZ = 200;
const ROUNDS = Number(process.env.BENCH_PROFILE_ROUNDS ?? 3);
const BEFORE = process.env.BENCH_PROFILE_BEFORE;
const root = process.cwd();
const outDir = path.resolve(process.env.BENCH_PROFILE_DIR ?? ".data/profiles");
const pySpy = path.join(root, "litellm/.venv/bin/py-spy");
/** CPU seconds a process has used so far, all its threads (user + system, from /proc), and the system part. */
function cpuSeconds(pid: number): { total: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const user = Number(fields[11]) / CLOCK_TICKS; // utime, stime (fields 14 and 15)
  const system = Number(fields[12]) / CLOCK_TICKS;
  return { total: user + system, system };
}

/** Context switches of each thread the process has now, by thread id (voluntary: it waited; involuntary: it was
 * preempted). */
function contextSwitches(pid: number): Map<string, number> {
  const byThread = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, "utf8");
      let n = 0;
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) n += Number(m[1]);
      byThread.set(task, n);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return byThread;
}

/** Each thread's Python name, by thread id, from py-spy's dump (Python 3.11 gives its threads no OS name); a pool's
 * threads under the pool's name (`ThreadPoolExecutor-0_3` → `ThreadPoolExecutor-0`), the main thread as the event
 * loop. A thread Python does not know (a library's own) is "not Python". */
function threadNames(pid: number): Map<string, string> {
  const names = new Map<string, string>();
  const dump = execFileSync(pySpy, ["dump", "--pid", String(pid), "--nonblocking"], { encoding: "utf8" });
  for (const m of dump.matchAll(/^Thread (\d+) \([^)]*\): "(.*)"$/gm)) {
    const name = m[2] === "MainThread" ? "event loop" : m[2]!.replace(/_\d+$/, "");
    names.set(m[1]!, name);
  }
  return names;
}

/** A run's context switches per call, all its threads. */
const switchesOf = (run: Pick<Run, "switchesByThread">) =>
  [...run.switchesByThread.values()].reduce((a, b) => a + b, 0);
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

interface Run {
  calls: number;
  errors: number;
  p50: number;
  p99: number;
  /** The process's CPU time (every thread, user + system) over the calls it served. */
  cpuMsPerCall: number;
  /** The kernel's part of it. */
  systemMsPerCall: number;
  /** Context switches per call by thread name (threads that ended during the run are not counted). */
  switchesByThread: Map<string, number>;
}

interface Profile {
  label: string;
  /** One per round; rounds interleave the paths, so a busy moment on the machine falls on all of them. */
  runs: Run[];
  /** The least CPU per call over the rounds: the path's cost with the least interference from the machine. */
  cpuMsPerCall: number;
  /** From the last round, sampled by py-spy: function → samples in which it was on the stack (once per stack). */
  inclusive: Map<string, number>;
  /** Samples py-spy took of running Python (idle threads left out). */
  busySamples: number;
  /** Samples whose stack went through Tollgate's plugin. */
  tollgateSamples: number;
}

/** A frame as py-spy's raw format writes it: `function (path/to/file.py:line)` → `function (file.py)`. */
function frameName(frame: string): string {
  const m = /^(.*) \((.*?):\d+\)$/.exec(frame.trim());
  if (!m) return frame.trim();
  const file = m[2]!.replace(/^.*\/site-packages\//, "").replace(/^.*\/litellm\/(tollgate_)/, "$1");
  return `${m[1]} (${file})`;
}

/** RATE calls a second for SECONDS on one path, its CPU time read before and after; py-spy samples it if asked. */
async function run(profile: Profile, url: string, key: string, port: number, spy: boolean): Promise<void> {
  process.stdout.write(`▸ ${profile.label}: warm-up… `);
  for (let i = 0; i < 40; i++) await ping(url, key).catch(() => false);
  const pid = pidOnPort(port);
  const file = path.join(outDir, `${profile.label.replace(/\W+/g, "-")}.txt`);
  let exited: Promise<number> | null = null;
  let spyErr = "";
  if (spy) {
    const child = spawn(
      pySpy,
      ["record", "--pid", String(pid), "--rate", String(SAMPLE_HZ), "--duration", String(SECONDS + 1)].concat(
        ["--format", "raw", "--nonblocking", "--output", file],
      ),
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr.on("data", (d) => {
      spyErr += d;
    });
    exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
    await new Promise((r) => setTimeout(r, 500)); // py-spy attaches
  }
  process.stdout.write(`${RATE * SECONDS} calls at ${RATE}/s${spy ? " under py-spy" : ""}… `);
  const cpuBefore = cpuSeconds(pid);
  const switchesBefore = contextSwitches(pid);
  const summary = summarize(await openLoop(RATE * SECONDS, RATE, () => ping(url, key)));
  const cpuAfter = cpuSeconds(pid);
  const cpuMsPerCall = ((cpuAfter.total - cpuBefore.total) * 1000) / summary.n;
  const systemMsPerCall = ((cpuAfter.system - cpuBefore.system) * 1000) / summary.n;
  const names = threadNames(pid);
  const switchesByThread = new Map<string, number>();
  for (const [task, n] of contextSwitches(pid)) {
    const name = names.get(task) ?? "not Python";
    const calls = (n - (switchesBefore.get(task) ?? 0)) / summary.n;
    switchesByThread.set(name, (switchesByThread.get(name) ?? 0) + calls);
  }
  profile.runs.push({
    calls: summary.n,
    errors: summary.errors,
    p50: summary.p50,
    p99: summary.p99,
    cpuMsPerCall,
    systemMsPerCall,
    switchesByThread,
  });
  profile.cpuMsPerCall = Math.min(...profile.runs.map((r) => r.cpuMsPerCall));
  console.log(
    `p50 ${f1(summary.p50)} ms, p99 ${f1(summary.p99)} ms, ${f2(cpuMsPerCall)} CPU ms per call (system ${f2(systemMsPerCall)}), ${f1(switchesOf({ switchesByThread }))} context switches per call`,
  );
  if (!exited) return;
  if ((await exited) !== 0) throw new Error(`py-spy failed: ${spyErr}`);
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const cut = line.lastIndexOf(" ");
    if (cut < 0) continue;
    const count = Number(line.slice(cut + 1));
    if (!Number.isFinite(count)) continue;
    const frames = line.slice(0, cut).split(";");
    profile.busySamples += count;
    if (frames.some((f) => f.includes("tollgate_"))) profile.tollgateSamples += count;
    for (const name of new Set(frames.map(frameName)))
      profile.inclusive.set(name, (profile.inclusive.get(name) ?? 0) + count);
  }
}

const newProfile = (label: string): Profile => ({
  label,
  runs: [],
  cpuMsPerCall: Number.POSITIVE_INFINITY,
  inclusive: new Map(),
  busySamples: 0,
  tollgateSamples: 0,
});

/** The functions with the most inclusive time, leaving out the event loop's and the server's outer frames. */
function top(p: Profile, n: number, only?: (name: string) => boolean): [string, number][] {
  const outer = /^(<module>|run|run_forever|_run_once|_run|main|run_server|serve|__call__|app|wrapped_app)\b/;
  return [...p.inclusive.entries()]
    .filter(([name]) => !outer.test(name) && (!only || only(name)))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n);
}

async function main() {
  console.log(`Tollgate gateway profile — ${machine()}`);
  pinBenchmark();
  mkdirSync(outDir, { recursive: true });
  const stack = await startBenchStack("bench-profile", {
    app: 3320,
    pg: 25453,
    litellm: 4220,
    upstream: 4230,
  });
  const others = new ProcessGroup();
  const gateway = (port: number, config?: string, from = root) =>
    benchGateway(stack, { root, port, config, from });
  try {
    process.stdout.write(
      "▸ starting bare LiteLLM (the same config without Tollgate) and LiteLLM + Tollgate auth only… ",
    );
    await others.start(gateway(4225, derivedConfig(root, "bare")));
    await others.start(gateway(4226, derivedConfig(root, "auth-only")));
    console.log("ready");
    const beforeRoot = BEFORE ? checkoutOf(root, BEFORE) : null;
    if (beforeRoot) {
      process.stdout.write(`▸ starting LiteLLM + Tollgate as of ${BEFORE}… `);
      await others.start(gateway(4227, undefined, beforeRoot));
      console.log("ready");
    }
    // The lease path is started here like the others, not the test stack's own gateway (4220): two gateways of the same
    // code differed by up to 0.4 CPU ms per call between those two roles.
    process.stdout.write("▸ starting LiteLLM + Tollgate (balance leases)… ");
    await others.start(gateway(4228));
    console.log("ready");
    pinGateways([4220, 4225, 4226, 4228, ...(beforeRoot ? [4227] : [])]);
    const developer = await benchDeveloper(stack.databaseUrl, "bench-profile");
    const key = await developer.issue();
    await developer.end();

    const bare = newProfile("bare LiteLLM");
    const auth = newProfile("Tollgate auth only");
    const lease = newProfile("balance leases");
    const before = beforeRoot ? newProfile(`balance leases, plugin as of ${BEFORE}`) : null;
    const turns: [Profile, string, string, number][] = [
      [bare, "http://127.0.0.1:4225/v1", TEST_MASTER_KEY, 4225],
      [auth, "http://127.0.0.1:4226/v1", key, 4226],
      [lease, "http://127.0.0.1:4228/v1", key, 4228],
      ...(before
        ? [[before, "http://127.0.0.1:4227/v1", key, 4227] as [Profile, string, string, number]]
        : []),
    ];
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round} of ${ROUNDS}`);
      const spy = round === ROUNDS;
      for (const k of turnOrder(turns.length, round - 1)) {
        const [profile, url, turnKey, port] = turns[k]!;
        await run(profile, url, turnKey, port, spy);
      }
    }
    const pct = (p: Profile, samples: number) => `${f1((100 * samples) / p.busySamples)} %`;
    const ms = (p: Profile, samples: number) => f2((samples / p.busySamples) * p.cpuMsPerCall);
    const topTable = (p: Profile, n: number, only?: (name: string) => boolean) =>
      [
        "| function (file) | CPU ms per call | share of busy time |",
        "|---|---:|---:|",
        ...top(p, n, only).map(
          ([name, s]) => `| \`${name.replace(/\|/g, "\\|")}\` | ${ms(p, s)} | ${pct(p, s)} |`,
        ),
      ].join("\n");
    /** A difference in CPU per call said as what it does: "adds 0.90 CPU ms per call", "takes 1.60 CPU ms per call off". */
    const change = (ms: number) =>
      ms >= 0 ? `adds **${f2(ms)} CPU ms per call**` : `takes **${f2(-ms)} CPU ms per call** off`;

    const least = (p: Profile) => p.runs.reduce((a, b) => (b.cpuMsPerCall < a.cpuMsPerCall ? b : a));
    const threadRows = [bare, auth, lease, ...(before ? [before] : [])]
      .map(
        (p) =>
          `| ${p.label} | ${[...least(p).switchesByThread]
            .filter(([, n]) => n >= 0.05)
            .sort((a, b) => b[1] - a[1])
            .map(([name, n]) => `${name} ${f1(n)}`)
            .join(", ")} |`,
      )
      .join("\n");
    const rows = [bare, auth, lease, ...(before ? [before] : [])]
      .map(
        (p) =>
          `| ${p.label} | ${p.runs.map((r) => f2(r.cpuMsPerCall)).join(", ")} | **${f2(p.cpuMsPerCall)}** | ${f2(p.cpuMsPerCall / bare.cpuMsPerCall)} | ${f2(least(p).systemMsPerCall)} | ${f1(switchesOf(least(p)))} | ${f1(p.runs.at(-1)!.p50)} | ${f1(p.runs.at(-1)!.p99)} | ${p.runs.reduce((n, r) => n + r.errors, 0)} | ${p.tollgateSamples ? `${ms(p, p.tollgateSamples)} ms (${pct(p, p.tollgateSamples)})` : "—"} |`,
      )
      .join("\n");
    const md = `## Gateway CPU per call (bench/gateway-profile.ts)

Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine()}. Each path takes ${RATE} non-streaming \`fake-small\`
calls a second for ${SECONDS} s, in ${ROUNDS} interleaved rounds; CPU per call is the LiteLLM process's CPU time (all threads, user
+ system, from /proc) over the calls it served — what sets capacity, since one worker saturates when calls per second ×
CPU per call reaches one core. The least of the rounds is the figure (the one least disturbed by the rest of the
machine). The bare baseline is the same \`litellm/config.yaml\` with Tollgate taken out (same models and router
settings), called with the master key.${PIN ? " Each LiteLLM process runs on CPU 1, everything else on CPU 0 (taskset)." : ""} In the last round py-spy samples each process at ${SAMPLE_HZ} Hz for where the
time goes.

| path | CPU ms per call, each round | least | ÷ bare | system ms per call (least round's) | context switches per call (least round's) | p50 ms | p99 ms | errors | in Tollgate's frames (last round) |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|
${rows}

Context switches per call by thread (the least round's), each thread named as Python names it (py-spy's dump; a
pool's threads together): the event loop, the loop's default executor (\`uvloop\`, where LiteLLM runs each call's
\`completion\`), the outbox's I/O thread (\`tollgate-outbox\`).

| path | by thread |
|---|---|
${threadRows}

Against bare LiteLLM, Tollgate's auth ${change(auth.cpuMsPerCall - bare.cpuMsPerCall)}; its billing (leases, usage events,
the outbox) ${change(lease.cpuMsPerCall - auth.cpuMsPerCall)} on top of that. "In Tollgate's frames" counts samples whose stack runs
through the plugin (the gate wraps every app-key request, so its frames include what LiteLLM does beneath it).

${before ? `Before and after, same rounds: the lease path takes **${f2(before.cpuMsPerCall)} → ${f2(lease.cpuMsPerCall)} CPU ms per call** (${f2(before.cpuMsPerCall / bare.cpuMsPerCall)}× → ${f2(lease.cpuMsPerCall / bare.cpuMsPerCall)}× bare).\n\n**Balance leases as of ${BEFORE}, Tollgate's own functions by inclusive time (last round):**\n\n${topTable(before, 10, (name) => name.includes("tollgate_") && !/^(__call__|_serve) \(tollgate_litellm\/gate/.test(name))}\n\n` : ""}**Balance leases, Tollgate's own functions by inclusive time (last round):**

${topTable(lease, 14, (name) => name.includes("tollgate_") && !/^(__call__|_serve) \(tollgate_litellm\/gate/.test(name))}

**Balance leases, the top functions by inclusive time (last round):**

${topTable(lease, 16)}

**Bare LiteLLM, the top functions by inclusive time (last round):**

${topTable(bare, 12)}
`;
    writeSection("gateway-profile", md);
    console.log(`\n${md}`);
    if (beforeRoot) rmSync(beforeRoot, { recursive: true, force: true });
  } finally {
    await others.stop();
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
