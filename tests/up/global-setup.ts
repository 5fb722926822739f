import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { UP_PORT } from "../../playwright.up.config";

// Starts `npm run up` (scripts/up.mjs) on ports of its own, waits for "Tollgate is up.", and stops it with
// Ctrl-C (SIGINT to its process group) when the suite ends, as a user would.
export default async function globalSetup() {
  const root = process.cwd();
  mkdirSync(path.join(root, "test-results/up"), { recursive: true });
  const logFile = path.join(root, "test-results/up/npm-run-up.log");
  const child: ChildProcess = spawn(process.execPath, [path.join(root, "scripts/up.mjs")], {
    cwd: root,
    detached: true,
    env: {
      ...process.env,
      NODE_OPTIONS: "",
      PORT: String(UP_PORT),
      TOLLGATE_PG_PORT: process.env.UP_TEST_PG_PORT ?? "25443",
      TOLLGATE_PG_DIR: ".data/pg-up-test",
      GATEWAY_PORT: process.env.UP_TEST_GATEWAY_PORT ?? "4400",
      FAKE_UPSTREAM_PORT: process.env.UP_TEST_UPSTREAM_PORT ?? "4410",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("npm run up did not come up within 5 minutes")), 300_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      appendFileSync(logFile, text);
      if (text.includes("Tollgate is up.")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (c: Buffer) => appendFileSync(logFile, c.toString()));
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm run up exited (code ${code}) before it was up; see ${logFile}`));
    });
  });
  const credentials = JSON.parse(readFileSync(path.join(root, ".data/demo-credentials.json"), "utf8"));
  process.env.UP_ADMIN_EMAIL = credentials.admin.email;
  process.env.UP_ADMIN_PASSWORD = credentials.admin.password;
  process.env.UP_DEV_EMAIL = credentials.developer.email;
  process.env.UP_DEV_PASSWORD = credentials.developer.password;
  return async () => {
    process.kill(-child.pid!, "SIGINT");
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 30_000))]);
    if (code === "timeout") process.kill(-child.pid!, "SIGKILL");
  };
}
