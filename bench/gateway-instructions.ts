// bench/gateway-instructions: instructions a LiteLLM process executes per call, bare and with Tollgate, counted by
// valgrind (callgrind), not timed.
//
// CPU time per call (bench/gateway-profile.ts) moves by 30 % or more between runs on a shared 2-core VM, more than the
// differences it is meant to show. An instruction count does not: it is the same for the same code and the same
// requests, however busy the machine is. Each path's LiteLLM runs under `valgrind --tool=callgrind` with
// instrumentation off while it starts and warms up; then it is switched on for GROUPS groups of GROUP calls (the same
// non-streaming `fake-small` call the other gateway benchmarks make), each group sent at once. On the lease path the
// outbox is paused while a group runs and resumed after it, so every group's usage events go to the platform as one
// batch of GROUP, as they do at 40 req/s with the outbox's 0.5 s linger; the instructions of the calls and of their
// delivery are counted apart. Every path's auth cache outlives the run (valgrind makes it ~50 times slower, and a
// cache entry expiring every few calls would count platform round trips the native gateway does not make).
// Rewrites its section of docs/benchmarks.md.
//
//   npm run bench:instructions      (BENCH_INSTR_GROUPS=12, BENCH_INSTR_GROUP=20,
//                                    BENCH_INSTR_BEFORE=<git revision>: also the lease path with that revision's plugin)
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { ProcessGroup } from "@/scripts/stack/processes";
import { TEST_MASTER_KEY } from "@/tests/stack/start";
import {
  benchDeveloper,
  benchGateway,
  checkoutOf,
  derivedConfig,
  pidOnPort,
  ping,
  startBenchStack,
} from "./gateway-setup";
import { f1, f2, machine, writeSection } from "./lib";

const GROUPS = Number(process.env.BENCH_INSTR_GROUPS ?? 12);
const GROUP = Number(process.env.BENCH_INSTR_GROUP ?? 20);
/** How long a group's window stays open after its last answer (and delivery), in ms. */
const SETTLE_MS = 1000;
const BEFORE = process.env.BENCH_INSTR_BEFORE;
const root = process.cwd();
const outDir = path.resolve(".data/callgrind");

async function operator(url: string, route: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${route}`, {
    method: route.endsWith("stats") ? "GET" : "POST",
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    signal: AbortSignal.timeout(120_000),
  });
  if (!res.ok) throw new Error(`${route}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Millions, two decimals. */
const mega = (n: number) => f2(n / 1e6);

function callgrind(command: string, pid: number): void {
  execFileSync("callgrind_control", [command, String(pid)], { stdio: "ignore" });
}

/** Usage events the outbox has not delivered, read from its file by another process (nothing counted). */
function pending(outboxPath: string): number {
  const sql = "select count(*) from events where delivered_at is null and dead_at is null";
  return Number(
    execFileSync(
      "python3",
      [
        "-c",
        `import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("${sql}").fetchone()[0])`,
        outboxPath,
      ],
      {
        encoding: "utf8",
      },
    ).trim(),
  );
}

/** Instructions executed since the counters were last zeroed: dumps them and reads the dump's total. */
function dumpTotal(pid: number, label: string): number {
  const before = new Set(readdirSync(outDir));
  callgrind("--dump", pid);
  const file = readdirSync(outDir).find((f) => f.startsWith(`${label}.`) && !before.has(f));
  if (!file) throw new Error(`callgrind wrote no dump for ${label}`);
  const text = readFileSync(path.join(outDir, file), "utf8");
  const total = /^(?:totals|summary): (\d+)/m.exec(text);
  if (!total) throw new Error(`no total in ${file}`);
  return Number(total[1]);
}

interface Path {
  label: string;
  port: number;
  key: () => string;
  /** Tollgate's billing runs here (its outbox file): the outbox is paused during each group, its delivery counted apart. */
  outbox?: string;
  calls?: number;
  errors?: number;
  /** The median group's instructions per call, all in. */
  perCall?: number;
  resumeInstructions?: number;
  /** Instructions per call in each group (idle share taken off), least first. */
  groups?: number[];
  idlePerSecond?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(p: Path): Promise<void> {
  const url = `http://127.0.0.1:${p.port}/v1`;
  const base = `http://127.0.0.1:${p.port}`;
  const pid = pidOnPort(p.port);
  const label = p.label.replace(/\W+/g, "-");
  process.stdout.write(`▸ ${p.label}: warm-up… `);
  for (let i = 0; i < 2; i++)
    await Promise.all(Array.from({ length: GROUP }, () => ping(url, p.key(), 120_000)));
  if (p.outbox) await sleep(3000); // the warm-up's events delivered
  callgrind("--instr=on", pid);
  // What the process executes with nothing to do (LiteLLM's and Tollgate's timers), per millisecond: a window lasts
  // about 50 times longer under valgrind than natively, so each window's idle share is taken off.
  const window = async (work: () => Promise<unknown>) => {
    callgrind("--zero", pid);
    const started = performance.now();
    await work();
    const ms = performance.now() - started;
    return { ir: dumpTotal(pid, label), ms };
  };
  const idle = await window(() => sleep(8000));
  const net = (w: { ir: number; ms: number }) => w.ir - (idle.ir / idle.ms) * w.ms;
  p.idlePerSecond = (idle.ir / idle.ms) * 1000;
  let calls = 0;
  let errors = 0;
  p.groups = [];
  for (let g = 0; g < GROUPS; g++) {
    if (p.outbox) await operator(base, "/tollgate/outbox/pause");
    const outbox = p.outbox;
    // A group's window: its calls; on the lease path the resume request, the 0.5 s linger, the claim, the signed POST
    // and the mark, until nothing is pending; then a second more on every path, for what LiteLLM's logging worker
    // still does after the answers (its success handlers run behind them).
    const w = await window(async () => {
      const ok = await Promise.all(
        Array.from({ length: GROUP }, () => ping(url, p.key(), 120_000).catch(() => false)),
      );
      calls += ok.length;
      errors += ok.filter((x) => !x).length;
      if (outbox) {
        await operator(base, "/tollgate/outbox/resume");
        for (let i = 0; i < 2400 && pending(outbox) > 0; i++) await sleep(50);
      }
      await sleep(SETTLE_MS);
    });
    p.groups.push(net(w));
    process.stdout.write(`${g + 1} `);
  }
  if (p.outbox) {
    // The resume request alone (resumed already, it only wakes the delivery loop, which finds nothing to send).
    const r = await window(async () => {
      for (let i = 0; i < 5; i++) await operator(base, "/tollgate/outbox/resume");
      await sleep(SETTLE_MS);
    });
    p.resumeInstructions = net(r) / 5;
    p.groups = p.groups.map((ir) => ir - p.resumeInstructions!);
  }
  callgrind("--instr=off", pid);
  p.groups = p.groups.map((ir) => ir / GROUP).sort((a, b) => a - b);
  p.calls = calls;
  p.errors = errors;
  p.perCall = p.groups[Math.floor(p.groups.length / 2)]!;
  console.log(
    `— ${mega(p.perCall)} M instructions per call (median; groups ${mega(p.groups[0]!)}–${mega(p.groups.at(-1)!)}), idle ${mega(p.idlePerSecond)} M/s, ${errors} errors`,
  );
}

async function main() {
  console.log(`Tollgate gateway instructions per call — ${machine()}`);
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("valgrind is not installed (apt-get install valgrind)");
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const stack = await startBenchStack("bench-instructions", {
    app: 3340,
    pg: 25473,
    litellm: 4260,
    upstream: 4270,
  });
  const others = new ProcessGroup();
  const tails = new Map<string, string[]>();
  const valgrind = (label: string, port: number, config?: string, from = root) => {
    const spec = benchGateway(stack, { root, port, config, from });
    const python = path.join(from, "litellm/.venv/bin/python");
    return {
      ...spec,
      name: `${spec.name} under callgrind (${label})`,
      command: "valgrind",
      args: [
        "--tool=callgrind",
        "--instr-atstart=no",
        "--collect-systime=no",
        `--callgrind-out-file=${path.join(outDir, `${label.replace(/\W+/g, "-")}.%p`)}`,
        python,
        spec.command,
        ...spec.args,
      ],
      ready: { url: `http://127.0.0.1:${port}/health/liveliness`, timeoutMs: 900_000 },
      // The last lines of its output, printed if it fails to start.
      onLine: (line: string) => {
        const lines = tails.get(label) ?? [];
        lines.push(line);
        if (lines.length > 30) lines.shift();
        tails.set(label, lines);
      },
    };
  };
  const beforeRoot = BEFORE ? checkoutOf(root, BEFORE) : null;
  try {
    const developer = await benchDeveloper(stack.databaseUrl, "bench-instructions");
    const key = await developer.issue();
    await developer.end();
    const path_ = (label: string, port: number, billed: boolean, config?: string, from = root) => {
      const spec = valgrind(label, port, config, from);
      return {
        label,
        port,
        spec,
        key: () => (config?.includes(".bare.") ? TEST_MASTER_KEY : key),
        outbox: billed ? spec.env!.TOLLGATE_OUTBOX_PATH! : undefined,
      };
    };
    const paths: (Path & { spec: ReturnType<typeof valgrind> })[] = [
      path_("bare LiteLLM", 4265, false, derivedConfig(root, "bare")),
      path_("Tollgate auth only", 4266, false, derivedConfig(root, "auth-only")),
      path_("balance leases", 4267, true),
      ...(beforeRoot
        ? [path_(`balance leases, plugin as of ${BEFORE}`, 4268, true, undefined, beforeRoot)]
        : []),
    ];
    process.stdout.write(`▸ starting ${paths.length} LiteLLM processes under valgrind (a few minutes)… `);
    await Promise.all(paths.map((p) => others.start(p.spec))).catch((error) => {
      for (const [label, lines] of tails) console.error(`— ${label}:\n${lines.join("\n")}`);
      throw error;
    });
    console.log("ready");
    for (const p of paths) await measure(p);

    const bare = paths[0]!;
    const total = (p: Path) => p.perCall!;
    const rows = paths
      .map(
        (p) =>
          `| ${p.label} | **${mega(p.perCall!)}** | ${mega(p.groups![0]!)}–${mega(p.groups!.at(-1)!)} | ${f2(p.perCall! / bare.perCall!)} | ${mega(p.idlePerSecond!)} | ${p.errors}/${p.calls} |`,
      )
      .join("\n");
    const auth = paths[1]!;
    const leases = paths[2]!;
    const before = paths[3];
    const md = `## Gateway instructions per call (bench/gateway-instructions.ts)

Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine()}: valgrind's callgrind counts the instructions each
LiteLLM process executes (every thread, user space), which do not move with how busy the machine is, where CPU time per
call (the section above) moved by a third between runs. ${GROUPS} groups of ${GROUP} non-streaming \`fake-small\` calls,
each group sent at once, after a warm-up of ${2 * GROUP} calls; a group's count runs from its first call until a second
after its last answer (LiteLLM's logging worker runs the success handlers behind the answers), and on the lease path
until its usage events are delivered too. The outbox is paused while a group runs and resumed after it, so each group's
${GROUP} events go to the platform as one batch, as at 40 req/s with the outbox's 0.5 s linger (the linger, the claim,
the signed POST, the mark; the benchmark's resume request is measured alone and taken off:
${mega(leases.resumeInstructions!)} M). A group lasts about 50 times longer under valgrind than natively, so what the
process executes with nothing to do (its timers, measured for 8 s first: the "idle" column) is taken off each group by
its length. The figure is the median group's; the range shows what timers, garbage collection and the auth cache
moved between groups. Auth caches keep their 5 s, the most the gateway allows: under valgrind the two Tollgate paths
ask the platform about a key every few dozen calls, where a native gateway asks once in hundreds.

| path | instructions per call, M (median group) | groups' range | ÷ bare | idle, M per second | errors |
|---|---:|---:|---:|---:|---:|
${rows}

With Tollgate's auth a call runs **${f1((100 * (total(auth) - total(bare))) / total(bare))} %** of bare LiteLLM's instructions more than
bare LiteLLM with its master key (negative: fewer); its billing (the lease draw, the hooks, the outbox append and
delivery) adds **${f1((100 * (total(leases) - total(auth))) / total(bare))} %** of them.${before ? `\n\nBefore and after, same run: the lease path takes **${mega(total(before))} → ${mega(total(leases))} M instructions per call** (${f2(total(before) / total(bare))}× → ${f2(total(leases) / total(bare))}× bare).` : ""}
`;
    writeSection("gateway-instructions", md);
    console.log(`\n${md}`);
  } finally {
    await others.stop();
    await stack.stop();
    if (beforeRoot) rmSync(beforeRoot, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
