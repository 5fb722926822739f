import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { request } from "@playwright/test";
import { SMTPServer } from "smtp-server";
import { startTestStack } from "../stack/start";
import { sessionStatePath } from "./helpers";

/**
 * A real SMTP server for the app's emails (invitations, low-balance notices): each message received is appended to
 * test-results/e2e/mailbox.jsonl as { to, subject, raw }, which specs read (E2E_MAILBOX).
 */
async function startMailbox(path: string): Promise<{ url: string; stop: () => Promise<void> }> {
  writeFileSync(path, "");
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (chunk: Buffer) => {
        raw += chunk.toString("utf8");
      });
      stream.on("end", () => {
        const to = session.envelope.rcptTo.map((r) => r.address).join(",");
        const subject = /^Subject: (.*)$/m.exec(raw)?.[1] ?? "";
        appendFileSync(path, `${JSON.stringify({ to, subject, raw })}\n`);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  const { port } = smtp.server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}

/**
 * Signs in once through the app's sign-in endpoint and saves the session's cookies where signedInAs() reads them:
 * specs that only need to be the seeded admin or developer start signed in instead of filling the form each time.
 */
async function saveSession(baseURL: string, email: string, password: string, path: string) {
  const api = await request.newContext({ baseURL });
  try {
    const res = await api.post("/api/auth/login", {
      headers: { origin: baseURL },
      data: { email, password },
    });
    if (!res.ok())
      throw new Error(`signing in ${email} for the e2e session failed: ${res.status()} ${await res.text()}`);
    mkdirSync(dirname(path), { recursive: true });
    await api.storageState({ path });
  } finally {
    await api.dispose();
  }
}

export default async function globalSetup() {
  mkdirSync("test-results/e2e", { recursive: true });
  const mailboxPath = "test-results/e2e/mailbox.jsonl";
  const mailbox = await startMailbox(mailboxPath);
  const stack = await startTestStack({
    name: "e2e",
    appPort: Number(process.env.E2E_PORT ?? 3100),
    pgPort: Number(process.env.E2E_PG_PORT ?? 25430),
    // The gateway reads virtual models again a second after it last did (30 s by default): a spec that defines one
    // calls it a moment later instead of waiting out the cache.
    gateway: { litellm: 4101, upstream: 4111, authCacheTtl: 2, env: { TOLLGATE_ROUTING_TTL_SECONDS: "1" } },
    // Usage webhooks may reach the specs' local receivers (plain HTTP on 127.0.0.1) although next start runs production.
    appEnv: { SMTP_URL: mailbox.url, WEBHOOK_ALLOW_PRIVATE_TARGETS: "true" },
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
  process.env.E2E_MAILBOX = mailboxPath;
  process.env.E2E_APP_URL = stack.appUrl;
  const { admin, developer } = stack.credentials;
  try {
    await Promise.all([
      saveSession(stack.appUrl, admin.email, admin.password, sessionStatePath("admin")),
      saveSession(stack.appUrl, developer.email, developer.password, sessionStatePath("developer")),
    ]);
  } catch (error) {
    await stack.stop();
    await mailbox.stop();
    throw error;
  }
  // Specs that call the app's domain verbs directly (making an organization or an invitation as a fixture) read the
  // app's settings as the app does: the same secrets, limits and SMTP server (the runner keeps its own NODE_ENV).
  const { NODE_ENV: _appNodeEnv, ...appSettings } = stack.appEnv;
  Object.assign(process.env, appSettings);
  return async () => {
    await stack.stop();
    await mailbox.stop();
  };
}
