import path from "node:path";
import { defineConfig } from "vitest/config";

const alias = {
  "@": import.meta.dirname,
  // lib modules guard against client bundles with server-only; tests are server code.
  "server-only": path.join(import.meta.dirname, "tests/setup/empty.ts"),
};

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          environment: "node",
          setupFiles: ["tests/setup/env.ts"],
        },
      },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["tests/setup/database.ts"],
          setupFiles: ["tests/setup/env.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          // The files whose code depends on connection state (ingest, leases, settlement and the queue's locks,
          // sessions, erasure, the test clock) again, through PgBouncer in transaction mode with a pool of 3 server
          // connections and no prepared statements, as production reaches Supabase's transaction pooler
          // (tests/setup/database.ts, docs/adr/0023).
          name: "pooled",
          include: [
            "tests/pooled/**/*.test.ts",
            ...[
              "webhook",
              "leases",
              "settlement",
              "queue",
              "auth",
              "password-change-race",
              "gdpr",
              "seats",
              "usage-compaction",
            ].map((f) => `tests/integration/${f}.test.ts`),
          ],
          environment: "node",
          globalSetup: ["tests/setup/database.ts"],
          setupFiles: ["tests/setup/env.ts"],
          env: { DATABASE_PREPARE: "false" },
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "gateway",
          include: ["tests/gateway/**/*.test.ts"],
          environment: "node",
          setupFiles: ["tests/setup/env.ts"],
          // Each file starts its own stack (PostgreSQL, next start, fake upstream, LiteLLM) on its own ports: one at a
          // time by default; `npm test` runs three at a time (--fileParallelism --maxWorkers=3).
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
