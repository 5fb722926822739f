#!/usr/bin/env node
// `npm run up`: installs what is missing, then hands over to the stack runner (scripts/stack/up.ts).
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { installBeside } from "./ensure.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
try {
  // The npm packages and the gateway's venv install at once (about a minute each on a fresh machine).
  const installs = installBeside(root, { apt: false });
  await installs.npm;
  await installs.venv;
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
