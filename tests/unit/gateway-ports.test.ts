// `npm test` runs the gateway files three at a time, each with its own stack, beside the browser against `npm run up`
// (tests/up) and the browser suite (tests/e2e): no two of them may name the same port (the platform 32xx and 34xx, PostgreSQL 254xx, LiteLLM and the
// fake upstream 41xx and 44xx).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const DIR = path.join(process.cwd(), "tests/gateway");
const PORT = /\b(3[1-4]\d\d|25[4-5]\d\d|4[14]\d\d)\b/g;

describe("gateway test ports", () => {
  it("are each named by one file only", () => {
    const owners = new Map<string, string[]>();
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith(".test.ts"))
      .map((f) => path.join("tests/gateway", f));
    expect(files.length).toBeGreaterThan(5);
    files.push(
      "tests/up/global-setup.ts",
      "playwright.up.config.ts",
      // The browser suite's stack (playwright.config.ts names its app port again).
      "tests/e2e/global-setup.ts",
    );
    for (const file of files) {
      for (const port of new Set(readFileSync(path.join(process.cwd(), file), "utf8").match(PORT) ?? [])) {
        owners.set(port, [...(owners.get(port) ?? []), file]);
      }
    }
    const shared = [...owners]
      .filter(([, files]) => files.length > 1)
      .map(([port, files]) => `${port}: ${files.join(", ")}`);
    expect(shared).toEqual([]);
  });
});
