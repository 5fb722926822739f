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
 * Runs an installer beside others (`npm test` installs npm packages, the venv and Debian's packages at once): its
 * output is kept and printed whole when it ends, under its label, so the log reads one installer at a time.
 */
function runBeside(label, steps) {
  const started = Date.now();
  console.log(`▸ ${label}…`);
  const chunks = [];
  return (async () => {
    for (const step of steps) {
      if (typeof step === "function") {
        step();
        continue;
      }
      const [cmd, args, opts = {}] = step;
      const status = await new Promise((resolve) => {
        const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
        child.stdout.on("data", (c) => chunks.push(c));
        child.stderr.on("data", (c) => chunks.push(c));
        child.on("error", (e) => {
          chunks.push(Buffer.from(`${e.message}\n`));
          resolve(1);
        });
        child.on("close", (code) => resolve(code ?? 1));
      });
      if (status !== 0) {
        process.stdout.write(Buffer.concat(chunks));
        throw new Error(`${label}: ${[cmd, ...args].join(" ")} failed (see above)`);
      }
    }
    console.log(`✓ ${label} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  })();
}

const NPM_LABEL = "Installing npm packages";
/**
 * npm install, run when node_modules is missing or older than package-lock.json. Not `npm ci`: the lock records only
 * this platform's optional binaries (as the registry serves them), which `npm ci` rejects as out of sync.
 */
const NPM_INSTALL = ["install", "--no-audit", "--no-fund", "--loglevel=error"];

function npmPackagesCurrent(root) {
  const lock = path.join(root, "package-lock.json");
  const installed = path.join(root, "node_modules", ".package-lock.json");
  return existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs;
}

/**
 * The browser the tests drive: Debian's build of Chromium in its headless-shell packaging (the headless mode
 * Playwright's own browser download uses, which cannot work offline), chromium's own package from the same source and
 * version. It does the same work as the full browser's headless mode for a fifth less CPU (docs/adr/0036).
 * CHROMIUM_PATH names another (the full `/usr/bin/chromium` to watch a test with `--headed`).
 */
export const BROWSER_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium-headless-shell";
const BROWSER_PACKAGE = "chromium-headless-shell";

/**
 * What `npm test` installs, all at once (on a fresh machine they took 60 s, 74 s and 28 s one after the other): the npm
 * packages, the gateway's venv, and Debian's packages the machine lacks (chromium's headless shell, pgbouncer,
 * redis-server when nothing answers on 6379) in one apt-get; `npm run up` and `npm run test:clock` the first two (apt:
 * false). Each promise settles when its part is there; a failed part rejects only its own.
 */
export function installBeside(root, { redis = false, apt = true } = {}) {
  const npm = npmPackagesCurrent(root)
    ? Promise.resolve()
    : runBeside(NPM_LABEL, [["npm", NPM_INSTALL, { cwd: root }]]);
  const plan = venvPlan(root);
  const venv = plan ? runBeside(VENV_LABEL, plan) : Promise.resolve();
  const debian = !apt
    ? []
    : [
        !process.env.CHROMIUM_PATH && !existsSync(BROWSER_PATH) && BROWSER_PACKAGE,
        !PGBOUNCER.some((p) => existsSync(p)) && "pgbouncer",
        redis && !redisServer() && "redis-server",
      ].filter(Boolean);
  const packages = debian.length
    ? runBeside(`Installing Debian ${debian.join(", ")} (apt-get)`, aptSteps(debian))
    : Promise.resolve();
  // Each part's failure is read by the stage that needs it; none is an unhandled rejection meanwhile.
  for (const p of [npm, venv, packages]) p.catch(() => {});
  return { npm, venv, debian: packages };
}

/** Installs Debian packages with apt-get (root, or sudo without a password); the index is refreshed first. */
export function aptInstall(label, ...packages) {
  timed(`Installing Debian ${label} (apt-get)`, () => {
    for (const [cmd, args, opts] of aptSteps(packages)) {
      const r = run(cmd, args, opts);
      if (r.status !== 0)
        throw new Error(`${[cmd, ...args].join(" ")} failed: install ${packages.join(" ")} by hand`);
    }
  });
}

/** apt-get's index refreshed, then the packages installed ([command, args, options] each), as root or with sudo. */
function aptSteps(packages) {
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  return [
    ["update", "-qq"],
    ["install", "-y", "-qq", "--no-install-recommends", ...packages],
  ].map((args) => {
    const [cmd, ...rest] = [...sudo, "apt-get", ...args];
    return [cmd, rest, { env }];
  });
}

/**
 * The gateway's Python venv (litellm/.venv) with LiteLLM pinned in litellm/requirements*.txt. Cached: a stamp
 * holds the hash of the requirements, so a second run skips pip entirely.
 */
const VENV_LABEL = "Installing the LiteLLM gateway venv (pip, pinned; a few minutes the first time)";

/** The steps that make the venv current (commands as [command, args, options], then its stamp), or null when current. */
function venvPlan(root) {
  const dir = path.join(root, "litellm");
  const venv = path.join(dir, ".venv");
  const stamp = path.join(venv, ".tollgate-requirements");
  const files = ["requirements.txt", "requirements-dev.txt"].map((f) => path.join(dir, f));
  const hash = createHash("sha256");
  for (const f of files) hash.update(readFileSync(f));
  const digest = hash.digest("hex");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === digest) return null;
  const python = ["python3", "python"].find((p) => run(p, ["--version"], { stdio: "ignore" }).status === 0);
  if (!python)
    throw new Error("python3 is required for the LiteLLM gateway (Debian: apt-get install python3-venv)");
  const pip = path.join(venv, "bin", "pip");
  return [
    ...(existsSync(path.join(venv, "bin", "python")) ? [] : [[python, ["-m", "venv", venv], {}]]),
    [
      pip,
      [
        "install",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "-q",
        ...files.flatMap((f) => ["-r", f]),
      ],
      { env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" } },
    ],
    // The stamp, written only once pip succeeded.
    () => writeFileSync(stamp, `${digest}\n`),
  ];
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
  if (!redisServer()) aptInstall("redis-server", "redis-server");
  const binary = redisServer();
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
  if (!PGBOUNCER.some((p) => existsSync(p))) aptInstall("pgbouncer", "pgbouncer");
}

const PGBOUNCER = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"];

function redisServer() {
  return ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p));
}
