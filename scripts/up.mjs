#!/usr/bin/env node
// `npm run up`: installs what is missing, then hands over to the stack runner (scripts/stack/up.ts).
// Only Node built-ins here: this file runs before node_modules exists.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);

const npmLock = path.join(root, "package-lock.json");
const installedLock = path.join(root, "node_modules", ".package-lock.json");
const stale = !existsSync(installedLock) || statSync(npmLock).mtimeMs > statSync(installedLock).mtimeMs;
if (stale) {
  console.log("▸ Installing npm packages (npm ci)…");
  const started = Date.now();
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    stdio: "inherit",
  });
  if (result.status !== 0) {
    console.error("✗ npm ci failed: see the output above.");
    process.exit(result.status ?? 1);
  }
  console.log(`✓ npm packages installed (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

const child = spawn(
  process.execPath,
  ["--conditions=react-server", "--import", "tsx", "scripts/stack/up.ts", ...process.argv.slice(2)],
  { stdio: "inherit" },
);
// Ctrl-C reaches the whole process group; the stack runner does the clean shutdown, we wait for it.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => {});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 130 : 0)));
