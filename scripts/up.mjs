#!/usr/bin/env node
// `npm run up`: installs what is missing, then hands over to the stack runner (scripts/stack/up.ts).
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureLiteLLMVenv, ensureNpmPackages } from "./ensure.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
try {
  ensureNpmPackages(root);
  ensureLiteLLMVenv(root);
} catch (error) {
  console.error(`✗ ${error.message}`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ["--conditions=react-server", "--import", "tsx", "scripts/stack/up.ts", ...process.argv.slice(2)],
  { stdio: "inherit" },
);
// Ctrl-C reaches the whole process group; the stack runner does the clean shutdown, we wait for it.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => {});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 130 : 0)));
