// The app's production build is reused while the sources it is built from are unchanged: a hash of them is
// kept next to the build. Node built-ins only (`npm test` and `npm run up` both use it).
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const INPUTS = [
  "app",
  "components",
  "lib",
  "public",
  "proxy.ts",
  "next.config.ts",
  "tsconfig.json",
  "postcss.config.mjs",
  "package-lock.json",
];

function files(root, entry) {
  const full = path.join(root, entry);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [entry];
  return readdirSync(full)
    .sort()
    .flatMap((name) => files(root, path.join(entry, name)));
}

/** A hash of every file the build reads from (paths and contents). */
export function sourceHash(root) {
  const hash = createHash("sha256");
  for (const file of INPUTS.flatMap((entry) => files(root, entry))) {
    hash.update(file);
    hash.update("\0");
    hash.update(readFileSync(path.join(root, file)));
  }
  return hash.digest("hex");
}

const marker = (root) => path.join(root, ".next", "tollgate-source-hash");

/** Whether .next holds a production build of the current sources. */
export function buildIsCurrent(root) {
  return (
    existsSync(path.join(root, ".next", "BUILD_ID")) &&
    existsSync(marker(root)) &&
    readFileSync(marker(root), "utf8").trim() === sourceHash(root)
  );
}

/** Records that .next was just built from the current sources. */
export function markBuilt(root) {
  writeFileSync(marker(root), `${sourceHash(root)}\n`);
}
