// Installs what the project needs and the machine lacks. Node built-ins only: runs before node_modules exists.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";

const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: "inherit", ...opts });

function timed(label, fn) {
  const started = Date.now();
  console.log(`▸ ${label}…`);
  fn();
  console.log(`✓ ${label} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

/**
 * npm install when node_modules is missing or older than package-lock.json. Not `npm ci`: the lock records
 * only this platform's optional binaries (as the registry serves them), which `npm ci` rejects as out of sync.
 */
export function ensureNpmPackages(root) {
  const lock = path.join(root, "package-lock.json");
  const installed = path.join(root, "node_modules", ".package-lock.json");
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  timed("Installing npm packages", () => {
    const r = run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: root });
    if (r.status !== 0) throw new Error("npm install failed (see above)");
  });
}

/** Debian's chromium for the browser tests (Playwright's own browser download cannot work offline). */
export function ensureChromium(executable = "/usr/bin/chromium") {
  if (existsSync(executable)) return;
  timed("Installing Debian chromium (apt-get)", () => {
    const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
    const apt = (...args) => {
      const [cmd, ...rest] = [...sudo, "apt-get", ...args];
      const r = run(cmd, rest, { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
      if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed: install chromium by hand`);
    };
    apt("update", "-qq");
    apt("install", "-y", "-qq", "--no-install-recommends", "chromium");
  });
}
