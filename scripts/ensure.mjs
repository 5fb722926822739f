// Installs what the project needs and the machine lacks. Node built-ins only: runs before node_modules exists.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: "inherit", ...opts });

function timed(label, fn) {
  const started = Date.now();
  console.log(`▸ ${label}…`);
  fn();
  console.log(`✓ ${label} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

/**
 * npm install when node_modules is missing or older than package-lock.json. Not `npm ci`: the lock records
 * only this platform's optional binaries (as the registry serves them), which `npm ci` rejects as out of sync.
 */
export function ensureNpmPackages(root) {
  const lock = path.join(root, "package-lock.json");
  const installed = path.join(root, "node_modules", ".package-lock.json");
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  timed("Installing npm packages", () => {
    const r = run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: root });
    if (r.status !== 0) throw new Error("npm install failed (see above)");
  });
}

/** Installs Debian packages with apt-get (root, or sudo without a password); the index is refreshed first. */
export function aptInstall(label, ...packages) {
  timed(`Installing Debian ${label} (apt-get)`, () => {
    const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
    for (const args of [
      ["update", "-qq"],
      ["install", "-y", "-qq", "--no-install-recommends", ...packages],
    ]) {
      const [cmd, ...rest] = [...sudo, "apt-get", ...args];
      const r = run(cmd, rest, { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
      if (r.status !== 0)
        throw new Error(`apt-get ${args.join(" ")} failed: install ${packages.join(" ")} by hand`);
    }
  });
}

/** Debian's chromium for the browser tests (Playwright's own browser download cannot work offline). */
export function ensureChromium(executable = "/usr/bin/chromium") {
  if (!existsSync(executable)) aptInstall("chromium", "chromium");
}

/**
 * The gateway's Python venv (litellm/.venv) with LiteLLM pinned in litellm/requirements*.txt. Cached: a stamp
 * holds the hash of the requirements, so a second run skips pip entirely.
 */
export function ensureLiteLLMVenv(root) {
  const dir = path.join(root, "litellm");
  const venv = path.join(dir, ".venv");
  const stamp = path.join(venv, ".tollgate-requirements");
  const files = ["requirements.txt", "requirements-dev.txt"].map((f) => path.join(dir, f));
  const hash = createHash("sha256");
  for (const f of files) hash.update(readFileSync(f));
  const digest = hash.digest("hex");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === digest) return;
  timed("Installing the LiteLLM gateway venv (pip, pinned; a few minutes the first time)", () => {
    const python = ["python3", "python"].find((p) => run(p, ["--version"], { stdio: "ignore" }).status === 0);
    if (!python) throw new Error("python3 is required for the LiteLLM gateway");
    if (!existsSync(path.join(venv, "bin", "python"))) {
      const r = run(python, ["-m", "venv", venv]);
      if (r.status !== 0) throw new Error("python3 -m venv failed (Debian: apt-get install python3-venv)");
    }
    const pip = path.join(venv, "bin", "pip");
    const r = run(
      pip,
      [
        "install",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "-q",
        ...files.flatMap((f) => ["-r", f]),
      ],
      {
        env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" },
      },
    );
    if (r.status !== 0) throw new Error("pip install of litellm/requirements*.txt failed (see above)");
    writeFileSync(stamp, `${digest}\n`);
  });
}

/** Whether something accepts TCP connections at host:port (within a second). */
export function reachable(host, port) {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host, port });
    socket.setTimeout(1000);
    socket.on("connect", () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
    socket.on("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * A Redis for the tests that need one (two gateway replicas sharing limits): the machine's own on 6379 when it
 * answers, else Debian's redis-server (installed with apt-get when missing) started on a free port for this run,
 * keeping nothing on disk. Returns where it is and how to stop what was started.
 */
export async function ensureRedis() {
  if (await reachable("127.0.0.1", 6379)) return { host: "127.0.0.1", port: 6379, stop: () => {} };
  const installed = () => ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p));
  if (!installed()) aptInstall("redis-server", "redis-server");
  const binary = installed();
  const port = 6391;
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  for (let i = 0; i < 50 && !(await reachable("127.0.0.1", port)); i++)
    await new Promise((r) => setTimeout(r, 100));
  if (!(await reachable("127.0.0.1", port))) throw new Error("redis-server did not start");
  console.log(`✓ Redis for the tests on 127.0.0.1:${port}`);
  return { host: "127.0.0.1", port, stop: () => child.kill("SIGTERM") };
}

/**
 * Debian's pgbouncer for the integration files run through a transaction pooler (`npm test`'s "pooled" stage,
 * tests/setup/pgbouncer.ts starts it): installed with apt-get when missing. Only the tests need it; `npm run up` never.
 */
export function ensurePgBouncer() {
  const paths = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"];
  if (!paths.some((p) => existsSync(p))) aptInstall("pgbouncer", "pgbouncer");
}
