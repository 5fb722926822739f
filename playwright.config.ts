import { defineConfig } from "@playwright/test";
import { BROWSER_PATH } from "./scripts/ensure.mjs";

export const E2E_PORT = Number(process.env.E2E_PORT ?? 3100);

/** Lane A of the flows (see projects below). */
const FLOWS_A = new RegExp(
  `/(${[
    "billing",
    "call-kinds",
    "gdpr",
    "guardrails",
    "home",
    "invite-signup",
    "keys",
    "plans",
    "provider-keys",
    "redemptions",
    "security",
    "shell",
    "users",
  ].join("|")})\\.spec\\.ts$`,
);

export default defineConfig({
  testDir: "tests/e2e",
  outputDir: "test-results/e2e",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  // The flows share one stack, each file's tests one after another. They run in two lanes side by side, one file at a
  // time in each, in file order (docs/adr/0036):
  // lane B holds every spec that changes the catalog (models, prices, virtual models: every key's lease epoch), runs
  // the queue (/api/cron/drain), or closes days (retention), and the two that watch one lease serve several calls;
  // lane A holds the specs that use the seeded developer and its key, and specs that only touch their own users. A
  // spec that is in neither list goes to lane B. The every-page sweep only reads, on two workers after both lanes.
  workers: 2,
  projects: [
    { name: "flows-a", testMatch: FLOWS_A, workers: 1 },
    { name: "flows-b", testIgnore: [FLOWS_A, /every-page\.spec\.ts$/], workers: 1 },
    {
      name: "pages",
      testMatch: /every-page\.spec\.ts$/,
      fullyParallel: true,
      dependencies: ["flows-a", "flows-b"],
    },
  ],
  retries: process.env.CI ? 1 : 0,
  reporter: [["list"], ["json", { outputFile: "test-results/e2e/results.json" }]],
  globalSetup: "./tests/e2e/global-setup.ts",
  use: {
    baseURL: `http://127.0.0.1:${E2E_PORT}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: BROWSER_PATH,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
