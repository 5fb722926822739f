import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { reachable } from "../ensure.mjs";

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Polled until it answers 2xx, or the check function returns true. */
  ready?: { url: string; timeoutMs?: number } | { check: () => Promise<boolean>; timeoutMs?: number };
  /** Where each output line goes (default: dropped). */
  onLine?: (line: string) => void;
}

export interface Running {
  spec: ProcessSpec;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  exited?: Promise<unknown>,
) {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  exited?.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${what} exited before it was ready`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} was not ready after ${Math.round(timeoutMs / 1000)}s`);
}

export const httpOk = (url: string) => async () => {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.ok;
};

/** Starts and supervises the local stack's processes; stop() ends them all, newest first. */
export class ProcessGroup {
  private running: Running[] = [];
  private stopping = false;

  async start(spec: ProcessSpec): Promise<Running> {
    // A process left listening on the port (an earlier run killed without its stack) would answer the readiness
    // check while the new one fails to bind: the stack would run against the old one.
    if (spec.ready && "url" in spec.ready) {
      const { hostname, port } = new URL(spec.ready.url);
      if (await reachable(hostname, Number(port)))
        throw new Error(`${spec.name}: port ${port} is already in use (a process left from an earlier run?)`);
    }
    const env: NodeJS.ProcessEnv = { ...process.env, ...spec.env };
    // An undefined value in spec.env removes the variable (e.g. DATABASE_URL for LiteLLM).
    for (const [name, value] of Object.entries(spec.env ?? {})) if (value === undefined) delete env[name];
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // own process group, so stop() reaches grandchildren too
    });
    const sink = spec.onLine ?? (() => {});
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on("line", sink);
    }
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const entry = { spec, child, exited };
    this.running.push(entry);
    if (spec.ready) {
      const check = "url" in spec.ready ? httpOk(spec.ready.url) : spec.ready.check;
      await waitFor(check, spec.ready.timeoutMs ?? 120_000, spec.name, exited);
    }
    return entry;
  }

  /** Resolves when any process exits on its own (not during stop). */
  firstExit(): Promise<{ name: string; code: number | null }> {
    return Promise.race(this.running.map((r) => r.exited.then((code) => ({ name: r.spec.name, code }))));
  }

  /** Stops one process by name (tests use it to take the platform down and bring it back). */
  async stopProcess(name: string): Promise<void> {
    const entry = this.running.find((r) => r.spec.name === name && r.child.exitCode === null);
    if (!entry) return;
    await terminate(entry);
    this.running = this.running.filter((r) => r !== entry);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const r of [...this.running].reverse()) await terminate(r);
  }
}

/** SIGTERM to the process group, SIGKILL after 8 s. */
async function terminate(r: Running): Promise<void> {
  if (r.child.exitCode !== null || !r.child.pid) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-r.child.pid!, s);
    } catch {}
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 8000);
  await r.exited;
  clearTimeout(timer);
}
