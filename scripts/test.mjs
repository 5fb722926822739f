#!/usr/bin/env node
// `npm test`: installs what is missing, runs every suite, prints one closing `N passed, N failed` line.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { markBuilt } from "./build-hash.mjs";
import { ensurePgBouncer, ensureRedis, installBeside, reachable } from "./ensure.mjs";
import { junitCount, playwrightCount, readReport, vitestArgs, vitestCount } from "./reports.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const results = [];
const tty = process.stdout.isTTY;
const env = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: "1",
  ...(tty ? {} : { NO_COLOR: "1", FORCE_COLOR: "0" }),
};

/** The longest a stage may run (the browser stage, the longest, takes 6 to 8 minutes on 2 cores): one that hangs
 * (a test's teardown waiting for ever) is stopped and counted failed, and the other stages still report, instead of
 * the whole run ending at CI's limit with nothing printed. */
const STAGE_LIMIT_MS = Number(process.env.TEST_STAGE_LIMIT_MINUTES ?? 30) * 60_000;

/**
 * Runs a command. Stages that run beside others (`lane`) keep their output and print it whole when they end, under
 * their banner, so the log reads one stage at a time; the others print as they go.
 */
function exec(name, cmd, args, extraEnv = {}, lane = false) {
  if (!lane) banner(name);
  else console.log(`▸ ${name} started`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: lane ? ["ignore", "pipe", "pipe"] : "inherit",
      env: { ...env, ...extraEnv },
    });
    const chunks = [];
    if (lane) {
      child.stdout.on("data", (c) => chunks.push(c));
      child.stderr.on("data", (c) => chunks.push(c));
    }
    let stopped = false;
    const limit = setTimeout(() => {
      stopped = true;
      chunks.push(
        Buffer.from(`\n✗ ${name}: still running after ${STAGE_LIMIT_MS / 60_000} minutes, stopped\n`),
      );
      if (!lane)
        console.error(`\n✗ ${name}: still running after ${STAGE_LIMIT_MS / 60_000} minutes, stopped`);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
    }, STAGE_LIMIT_MS);
    child.on("close", (code) => {
      clearTimeout(limit);
      if (lane) {
        banner(name);
        process.stdout.write(Buffer.concat(chunks));
      }
      resolve(stopped ? 1 : (code ?? 1));
    });
  });
}

/** A stage that is one check (lint, types, build): passes or fails as a whole. */
async function check(name, cmd, args, { env: extraEnv, lane } = {}) {
  const started = Date.now();
  const code = await exec(name, cmd, args, extraEnv, lane);
  results.push({
    name,
    passed: code === 0 ? 1 : 0,
    failed: code === 0 ? 0 : 1,
    seconds: (Date.now() - started) / 1000,
  });
  return code === 0;
}

/** A stage that runs a test suite and reports its own counts in a JSON file. */
async function suite(name, cmd, args, reportFile, count, { env: extraEnv, lane } = {}) {
  const started = Date.now();
  rmSync(reportFile, { force: true });
  const code = await exec(name, cmd, args, extraEnv, lane);
  let { passed, failed, skipped = 0 } = readReport(reportFile, count) ?? { passed: 0, failed: 0 };
  // A runner that crashed (or failed outside any test) still counts as a failure.
  if (code !== 0 && failed === 0) failed = 1;
  results.push({ name, passed, failed, skipped, seconds: (Date.now() - started) / 1000 });
}

/** Something a stage needs, installed or started up front: its value, or why it is missing. */
async function prerequisite(make) {
  try {
    return { value: await make(), missing: null };
  } catch (error) {
    return { value: null, missing: error instanceof Error ? error.message : String(error) };
  }
}

/** A stage that could not run counts as one failure, with the reason printed. */
function notRun(name, reason) {
  if (reason) console.error(reason);
  results.push({ name, passed: 0, failed: 1, seconds: 0 });
}

// The stages that need the build, named once: run, or counted as not run when the build failed.
const GATEWAY = "gateway (vitest: LiteLLM + plugin + platform, openai client)";
const BROWSER = "browser (playwright + chromium)";
const BROWSER_UP = "browser against `npm run up` (playwright + chromium)";

function banner(name) {
  console.log(`\n━━━ ${name} ${"━".repeat(Math.max(0, 60 - name.length))}`);
}

async function main() {
  const started = Date.now();
  // The npm packages, the gateway's venv and Debian's packages install at once; each stage waits for what it needs
  // (the venv: the plugin's tests and the gateway files; chromium's headless shell: the browser; pgbouncer: the pooled
  // files).
  const installs = installBeside(root, {
    redis: !(await reachable("127.0.0.1", 6379)),
  });
  await installs.npm;
  const venv = prerequisite(() => installs.venv);
  const browser = prerequisite(() => installs.debian);
  const pgBouncer = prerequisite(async () => {
    await installs.debian;
    ensurePgBouncer();
  });
  // Two gateway replicas share limits through Redis: the gateway files always run, against a Redis started if need
  // be (the machine's own on 6379, else Debian's redis-server on a port of this run).
  const redis = prerequisite(async () => {
    await installs.debian;
    return ensureRedis();
  });
  mkdirSync("test-results", { recursive: true });

  // Until the build is done, three lanes run side by side (no one of them keeps both cores busy): the static checks
  // then the build; the database suites; the plugin's and the unit tests. The build starts once the checks have
  // read tsconfig.json (next build rewrites it).
  const lane = true;
  const checksThenBuild = (async () => {
    await check("lint (biome)", bin("biome"), ["ci", "--colors=off", "."], { lane });
    await check("types (tsc)", bin("tsc"), ["--noEmit"], { lane });
    // No import circles in the app's own code (type imports count: a circle of types is a circle of modules).
    await check(
      "import circles (madge)",
      bin("madge"),
      [
        "--circular",
        "--no-spinner",
        "--extensions",
        "ts,tsx",
        "--ts-config",
        "tsconfig.json",
        "app",
        "lib",
        "components",
      ],
      { lane },
    );
    return check("build (next build)", bin("next"), ["build"], { lane });
  })();
  const database = (async () => {
    await suite(
      "integration (vitest, real PostgreSQL)",
      bin("vitest"),
      vitestArgs("integration", "test-results/vitest-integration.json"),
      "test-results/vitest-integration.json",
      vitestCount,
      { lane },
    );
    // The files that depend on connection state again, through PgBouncer in transaction mode (as production reaches
    // Supabase's transaction pooler), without prepared statements or pipelining: vitest.config.ts, project "pooled".
    const pooled = "integration through PgBouncer (transaction mode)";
    const { missing } = await pgBouncer;
    if (missing) return notRun(pooled, missing);
    await suite(
      pooled,
      bin("vitest"),
      vitestArgs("pooled", "test-results/vitest-pooled.json"),
      "test-results/vitest-pooled.json",
      vitestCount,
      { lane },
    );
  })();
  const plugin = (async () => {
    const PYTEST = "gateway plugin (pytest)";
    const { missing } = await venv;
    if (missing) notRun(PYTEST, missing);
    else
      await suite(
        PYTEST,
        path.join(root, "litellm/.venv/bin/python"),
        ["-m", "pytest", "litellm/tests", "-c", "litellm/pytest.ini", "--junitxml=test-results/pytest.xml"],
        "test-results/pytest.xml",
        junitCount,
        { lane },
      );
    await suite(
      "unit (vitest)",
      bin("vitest"),
      vitestArgs("unit", "test-results/vitest-unit.json"),
      "test-results/vitest-unit.json",
      vitestCount,
      { lane },
    );
  })();
  // The gateway files and the browser against `npm run up` need the build and nothing else: they start as soon as it
  // is done, beside the database suites' tail and beside each other. Each leaves a core idle much of the time (the
  // gateway files' stacks wait on calls; `npm run up` starts one process after another): run one after the other,
  // the two cores were idle 40–50 % of those minutes.
  const built = await checksThenBuild;
  const afterBuild = [];
  if (built) {
    markBuilt(root);
    afterBuild.push(
      (async () => {
        const missing = (await venv).missing ?? (await redis).missing;
        if (missing) return notRun(GATEWAY, missing);
        const { value: redisAt } = await redis;
        await suite(
          GATEWAY,
          bin("vitest"),
          // Three files at a time, each its own stack on its own ports (tests/unit/gateway-ports.test.ts): their
          // stacks wait on calls much of the time, so a third overlaps (409 → 291 s on 2 cores, all 130 passing, twice).
          [
            ...vitestArgs("gateway", "test-results/vitest-gateway.json"),
            "--fileParallelism",
            "--maxWorkers=3",
          ],
          "test-results/vitest-gateway.json",
          vitestCount,
          { lane, env: { TEST_REDIS_HOST: redisAt.host, TEST_REDIS_PORT: String(redisAt.port) } },
        );
      })(),
      // The same browser against the stack `npm run up` starts (its own ports): every page, no self-reloads.
      (async () => {
        const missing = (await browser).missing ?? (await venv).missing;
        if (missing) return notRun(BROWSER_UP, missing);
        await suite(
          BROWSER_UP,
          bin("playwright"),
          ["test", "-c", "playwright.up.config.ts"],
          "test-results/up/results.json",
          playwrightCount,
          { lane, env: { NODE_OPTIONS: "--conditions=react-server" } },
        );
      })(),
    );
  }
  // The browser suite, the longest stage (6 to 8 minutes on 2 cores: its flows in two lanes, then every page on two
  // workers), runs alone at the end. Started beside the gateway files' tail it won a minute at most, and
  // their bursts are the tests a loaded host makes flaky.
  await Promise.all([database, plugin, ...afterBuild]);
  (await redis).value?.stop();
  if (built) {
    const missing = (await browser).missing ?? (await venv).missing;
    if (missing) notRun(BROWSER, missing);
    else
      await suite(
        BROWSER,
        bin("playwright"),
        ["test"],
        "test-results/e2e/results.json",
        playwrightCount,
        // The stack it starts imports server-only lib modules, as the server does.
        { env: { NODE_OPTIONS: "--conditions=react-server" } },
      );
  } else {
    for (const name of [GATEWAY, BROWSER, BROWSER_UP]) notRun(name);
  }

  console.log("\n━━━ summary ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━");
  for (const r of results) {
    const mark = r.failed ? "✗" : "✓";
    console.log(
      `${mark} ${r.name.padEnd(62)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed  ${r.seconds.toFixed(1)}s`,
    );
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const skipped = results.reduce((n, r) => n + (r.skipped ?? 0), 0);
  console.log(
    `\ntotal time ${((Date.now() - started) / 1000).toFixed(0)}s; screenshots in test-results/screens`,
  );
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  console.log("0 passed, 1 failed");
  process.exit(1);
});
