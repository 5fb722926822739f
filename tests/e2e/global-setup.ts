import { appendFileSync, mkdirSync } from "node:fs";
import { startTestStack } from "../stack/start";

export default async function globalSetup() {
  mkdirSync("test-results/e2e", { recursive: true });
  const stack = await startTestStack({
    name: "e2e",
    appPort: Number(process.env.E2E_PORT ?? 3100),
    pgPort: Number(process.env.E2E_PG_PORT ?? 25430),
    gateway: { litellm: 4101, upstream: 4111, authCacheTtl: 2 },
    log: (line) => appendFileSync("test-results/e2e/stack.log", `${line}\n`),
  });
  // Workers inherit the environment: this is how tests learn the seeded logins.
  process.env.E2E_ADMIN_EMAIL = stack.credentials.admin.email;
  process.env.E2E_ADMIN_PASSWORD = stack.credentials.admin.password;
  process.env.E2E_DEV_EMAIL = stack.credentials.developer.email;
  process.env.E2E_DEV_PASSWORD = stack.credentials.developer.password;
  process.env.E2E_DEV_KEY = stack.credentials.developer.apiKey;
  process.env.E2E_DATABASE_URL = stack.databaseUrl;
  process.env.E2E_GATEWAY_URL = stack.gatewayUrl;
  return stack.stop;
}
