import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config";
import { ensureEnvFile, parseEnvFile } from "@/scripts/stack/env";

describe("the local stack's .env.local", () => {
  it("generates every secret the configuration requires, so `npm run up` starts on a fresh clone", () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "tollgate-env-")), ".env.local");
    const values = ensureEnvFile(file);
    expect(() => parseConfig({ ...values, DATABASE_URL: "postgres://u@127.0.0.1:5432/db" })).not.toThrow();
    expect(values.LITELLM_MASTER_KEY).toMatch(/^sk-/);
  });

  it("keeps existing values and adds only what is missing", () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "tollgate-env-")), ".env.local");
    writeFileSync(file, "SESSION_SECRET=keep-me-keep-me-keep-me-keep-me-keep\nOTHER='x y'\n");
    const values = ensureEnvFile(file);
    expect(values.SESSION_SECRET).toBe("keep-me-keep-me-keep-me-keep-me-keep");
    expect(parseEnvFile(readFileSync(file, "utf8")).OTHER).toBe("x y");
    const again = readFileSync(file, "utf8");
    ensureEnvFile(file);
    expect(readFileSync(file, "utf8")).toBe(again);
  });
});
