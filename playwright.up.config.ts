import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The browser suite against the stack `npm run up` starts (its own ports and database directory), not the test
// stack: what a user clicks after `npm run up` is what is tested here.
export const UP_PORT = Number(process.env.UP_TEST_PORT ?? 3400);

export default defineConfig({
  ...base,
  testDir: "tests/up",
  outputDir: "test-results/up",
  timeout: 120_000,
  retries: 0,
  workers: 1,
  projects: [{ name: "up" }],
  reporter: [["list"], ["json", { outputFile: "test-results/up/results.json" }]],
  globalSetup: "./tests/up/global-setup.ts",
  use: { ...base.use, baseURL: `http://localhost:${UP_PORT}` },
});
