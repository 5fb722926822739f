#!/usr/bin/env node
// `npm run test:clock`: the pytest, unit and integration suites (the commands `npm test` runs) with the clock moved
// by Debian's libfaketime to the last seconds of a month, of a year and of 29 February. Each suite starts at the
// moment and the clock runs on, so a suite running longer than ten seconds crosses a UTC midnight. Prints `N passed, N failed` per moment
// and overall. Other moments: `npm run test:clock -- "2029-06-30 23:59:50"` (UTC); `-- --clocks`: the evidence only.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { aptInstall, installBeside } from "./ensure.mjs";
import { junitCount, readReport, vitestArgs, vitestCount } from "./reports.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const args = process.argv.slice(2);
const clocksOnly = args.includes("--clocks");
const named = args.filter((a) => a !== "--clocks");
const MOMENTS = named.length ? named : ["2027-04-30 23:59:50", "2027-12-31 23:59:50", "2028-02-29 23:59:50"];

/** libfaketime's multi-threaded build (node and vitest run threads), installed with apt-get when missing. */
function ensureFaketime() {
  const find = () =>
    ["/usr/lib", "/usr/local/lib", ...readdirSync("/usr/lib").map((d) => path.join("/usr/lib", d))]
      .map((dir) => path.join(dir, "faketime", "libfaketimeMT.so.1"))
      .find((file) => existsSync(file));
  if (!find()) aptInstall("faketime (libfaketime)", "faketime");
  const lib = find();
  if (!lib) throw new Error("libfaketimeMT.so.1 not found after installing faketime");
  return lib;
}

/**
 * The environment that moves the clock to `moment` (UTC) from now on, for a process and all its children.
 * - An offset (FAKETIME="+N"), not a start-at date ("@2027-04-30 23:59:50"): with "@" every process that is
 *   exec'd restarts the clock at the moment — the vitest workers, initdb, pg_ctl and postgres each had their own
 *   clock (PostgreSQL's now() was 1.4 s behind node's in one probe), so node and SQL disagreed about "now".
 *   (FAKETIME_DONT_RESET would share one start through /dev/shm, left behind whenever a process is killed.)
 * - FAKETIME_DONT_FAKE_MONOTONIC=1: only the wall clock moves; timers, timeouts and elapsed times keep the real
 *   monotonic clock (faking it is what hangs some runtimes, README of libfaketime), and nothing here needs it.
 * - TZ=UTC: the moments are UTC, and so are the suites' day boundaries.
 */
function movedClock(lib, moment) {
  const target = Date.parse(`${moment.replace(" ", "T")}Z`);
  if (Number.isNaN(target)) throw new Error(`not a moment: ${moment} (YYYY-MM-DD hh:mm:ss, UTC)`);
  const offsetSeconds = Math.round((target - Date.now()) / 1000);
  return {
    LD_PRELOAD: [lib, process.env.LD_PRELOAD].filter(Boolean).join(" "),
    FAKETIME: `${offsetSeconds >= 0 ? "+" : ""}${offsetSeconds}`,
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
    TZ: "UTC",
  };
}

const tty = process.stdout.isTTY;
const baseEnv = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: "1",
  ...(tty ? {} : { NO_COLOR: "1", FORCE_COLOR: "0" }),
  // The integration suite's embedded PostgreSQL (as `npm test`), in a cluster and on a port of its own, so a
  // concurrent `npm test` is not disturbed and its cluster never sees a moved clock. A server named by
  // TEST_DATABASE_URL (and TEST_DB_RUN) is used instead when set.
  TEST_DB_RUN: process.env.TEST_DB_RUN ?? "clock",
  TEST_PG_PORT: process.env.TEST_PG_PORT ?? "25439",
};

/** Runs a command; libfaketime's shared memory of a process that did not exit cleanly is removed after it. */
function exec(cmd, args, env, { quiet = false } = {}) {
  return new Promise((resolve) => {
    let out = "";
    const child = spawn(cmd, args, { stdio: quiet ? ["ignore", "pipe", "pipe"] : "inherit", env });
    child.stdout?.on("data", (d) => {
      out += d;
    });
    child.stderr?.on("data", (d) => {
      out += d;
    });
    child.on("exit", (code) => {
      for (const f of [`faketime_shm_${child.pid}`, `sem.faketime_sem_${child.pid}`])
        rmSync(path.join("/dev/shm", f), { force: true });
      resolve({ code: code ?? 1, out });
    });
  });
}

const fakedNow = async (env) =>
  (await exec("node", ["-e", "process.stdout.write(new Date().toISOString())"], env, { quiet: true })).out;

/** Evidence that the clock moved for each runtime: date, node, python and the test database's now(). */
async function showClocks(env) {
  console.log(
    `date:        ${spawnSync("date", ["-u", "+%F %T %Z"], { env, encoding: "utf8" }).stdout.trim()}`,
  );
  console.log(`node:        ${await fakedNow(env)}`);
  const python = path.join(root, "litellm/.venv/bin/python");
  const py = spawnSync(
    python,
    ["-c", "import datetime; print(datetime.datetime.now(datetime.timezone.utc))"],
    {
      env,
      encoding: "utf8",
    },
  );
  console.log(`python:      ${py.stdout.trim()}`);
  // The same PostgreSQL the integration suite uses: embedded (this run's cluster and port), or TEST_DATABASE_URL.
  const probe = `
    const { startEmbeddedPostgres } = await import(${JSON.stringify(pathToFileURL(path.join(root, "lib/db/embedded.ts")).href)});
    const { createClient } = await import(${JSON.stringify(pathToFileURL(path.join(root, "lib/db/client.ts")).href)});
    let url = process.env.TEST_DATABASE_URL, pg;
    if (!url) {
      const run = (process.env.TEST_DB_RUN ?? "").replace(/[^a-z0-9]/g, "");
      pg = await startEmbeddedPostgres({ dir: ${JSON.stringify(path.join(root, ".data"))} + "/pg-test" + (run ? "-" + run : ""), port: Number(process.env.TEST_PG_PORT), fast: true });
      url = pg.url();
    }
    const sql = createClient({ url, max: 1 });
    const [row] = await sql\`select now() as now, version() as version\`;
    const skew = Math.abs(row.now.getTime() - Date.now()) / 1000;
    console.log("postgresql:  " + row.now.toISOString() + (pg ? " (embedded, " : " (TEST_DATABASE_URL, ") + row.version.split(" ").slice(0, 2).join(" ") + ")");
    if (skew > 60) console.log("WARNING: the database's clock is " + skew.toFixed(0) + " s from this one: its server runs outside libfaketime, so tests that compare both clocks will fail; unset TEST_DATABASE_URL to use the embedded PostgreSQL");
    await sql.end();
    await pg?.stop();`;
  const { code, out } = await exec(
    "node",
    ["--conditions=react-server", "--import", "tsx", "--input-type=module", "-e", probe],
    env,
    { quiet: true },
  );
  process.stdout.write(code === 0 ? out : `postgresql:  probe failed\n${out}`);
}

/** Where the suite's test files ran relative to the first UTC midnight after `from`: before, across or after it. */
function aroundMidnight(report, from) {
  const midnight = Math.ceil(Date.parse(from) / 86_400_000) * 86_400_000;
  const files = report.testResults ?? [];
  const before = files.filter((f) => f.endTime < midnight).length;
  const after = files.filter((f) => f.startTime >= midnight).length;
  return `  test files run before ${new Date(midnight).toISOString()}: ${before}, across it: ${files.length - before - after}, after it: ${after}`;
}

/** One suite under the moved clock, started at the moment itself; its counts from its report file. */
async function suite(lib, moment, name, cmd, args, report, count) {
  const env = { ...baseEnv, ...movedClock(lib, moment) };
  console.log(`\n━━━ ${name} at ${moment} UTC ${"━".repeat(Math.max(0, 40 - name.length))}`);
  rmSync(report, { force: true });
  const from = await fakedNow(env);
  const { code } = await exec(cmd, args, env);
  const to = await fakedNow(env);
  const counted = readReport(report, count);
  let { passed, failed } = counted ?? { passed: 0, failed: 0 };
  // A runner that crashed (or failed outside any test) still counts as a failure.
  if (code !== 0 && failed === 0) failed = 1;
  console.log(`${name}: ${passed} passed, ${failed} failed (clock ${from} → ${to})`);
  if (counted && !report.endsWith(".xml"))
    console.log(aroundMidnight(JSON.parse(readFileSync(report, "utf8")), from));
  return { name, passed, failed };
}

async function main() {
  const installs = installBeside(root, { apt: false });
  await installs.npm;
  await installs.venv;
  const lib = ensureFaketime();
  console.log(`libfaketime: ${lib}`);
  await showClocks({ ...baseEnv, ...movedClock(lib, MOMENTS[0]) });
  if (clocksOnly) return;

  const totals = [];
  for (const moment of MOMENTS) {
    const dir = path.join("test-results", "clock", moment.replace(/[^0-9]/g, ""));
    mkdirSync(dir, { recursive: true });
    const results = [];
    results.push(
      await suite(
        lib,
        moment,
        "pytest (gateway plugin)",
        path.join(root, "litellm/.venv/bin/python"),
        ["-m", "pytest", "litellm/tests", "-c", "litellm/pytest.ini", `--junitxml=${dir}/pytest.xml`],
        `${dir}/pytest.xml`,
        junitCount,
      ),
    );
    for (const project of ["unit", "integration"]) {
      const report = `${dir}/vitest-${project}.json`;
      results.push(
        await suite(
          lib,
          moment,
          `${project} (vitest)`,
          bin("vitest"),
          vitestArgs(project, report),
          report,
          vitestCount,
        ),
      );
    }
    const passed = results.reduce((n, r) => n + r.passed, 0);
    const failed = results.reduce((n, r) => n + r.failed, 0);
    totals.push({ moment, passed, failed, results });
    console.log(`\n${moment} UTC: ${passed} passed, ${failed} failed`);
  }

  console.log("\n━━━ summary (clock moved by libfaketime) ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━");
  for (const t of totals) {
    const mark = t.failed ? "✗" : "✓";
    const parts = t.results
      .map((r) => `${r.name.split(" ")[0]} ${r.passed}/${r.passed + r.failed}`)
      .join(", ");
    console.log(`${mark} ${t.moment} UTC: ${t.passed} passed, ${t.failed} failed  (${parts})`);
  }
  const passed = totals.reduce((n, t) => n + t.passed, 0);
  const failed = totals.reduce((n, t) => n + t.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  console.log("0 passed, 1 failed");
  process.exit(1);
});
