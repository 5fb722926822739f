import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (!m) continue;
    out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, "$2");
  }
  return out;
}

/** Secrets the stack generates on first start and keeps in .env.local (never committed). */
export const GENERATED_SECRETS = [
  "SESSION_SECRET",
  "GATEWAY_SECRET",
  "KEY_PEPPER",
  "WEBHOOK_SECRET",
  "CRON_SECRET",
  "LITELLM_MASTER_KEY",
] as const;

// LiteLLM insists that its master key starts with "sk-".
const generate = (name: string) =>
  `${name === "LITELLM_MASTER_KEY" ? "sk-" : ""}${randomBytes(32).toString("base64url")}`;

/** Reads .env.local, adds any missing generated secret, writes it back; returns the merged values. */
export function ensureEnvFile(
  file: string,
  secrets: readonly string[] = GENERATED_SECRETS,
): Record<string, string> {
  const existing = existsSync(file) ? readFileSync(file, "utf8") : "";
  const values = parseEnvFile(existing);
  const added: string[] = [];
  for (const name of secrets) {
    if (!values[name]) {
      values[name] = generate(name);
      added.push(`${name}=${values[name]}`);
    }
  }
  if (added.length) {
    const header = existing
      ? ""
      : "# Written by `npm run up` on first start. Local secrets: never commit this file.\n";
    const sep = existing && !existing.endsWith("\n") ? "\n" : "";
    writeFileSync(file, `${existing}${sep}${header}${added.join("\n")}\n`, { mode: 0o600 });
  }
  return values;
}
