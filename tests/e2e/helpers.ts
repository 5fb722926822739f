import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";
import { hashPassword } from "@/lib/auth/password";
import { creditAccount } from "@/lib/billing/ledger";
import type { Sql } from "@/lib/db/client";
import { createKey } from "@/lib/keys/create";
import { TEST_KEY_PEPPER } from "../stack/start";

export const developer = () => ({
  email: process.env.E2E_DEV_EMAIL!,
  password: process.env.E2E_DEV_PASSWORD!,
});
export const admin = () => ({
  email: process.env.E2E_ADMIN_EMAIL!,
  password: process.env.E2E_ADMIN_PASSWORD!,
});

/**
 * Serious and critical accessibility violations (axe), one line each: in the whole page, or only inside `include`,
 * leaving out `exclude`. axe runs in the page itself (its legacy mode): the default finishes every run in a new blank
 * page of its own, which costs about as much again, for iframes of other origins the app does not have. That was half
 * the browser stage's time in axe (1.2 → 0.7 s a run on the every-page sweep).
 */
export async function seriousViolations(
  page: Page,
  { include, exclude = [] }: { include?: string; exclude?: string[] } = {},
): Promise<string[]> {
  const builder = new AxeBuilder({ page }).setLegacyMode();
  if (include) builder.include(include);
  for (const selector of exclude) builder.exclude(selector);
  const { violations } = await builder.analyze();
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `axe ${v.impact} ${v.id}: ${v.nodes
          .slice(0, 4)
          .map((n) => n.target.join(" "))
          .join(" | ")}${v.nodes.length > 4 ? ` (+${v.nodes.length - 4})` : ""}`,
    );
}

export async function login(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).not.toHaveURL(/\/login/);
}

/** Where global setup saves the seeded admin's and developer's signed-in browser state (cookies). */
export const sessionStatePath = (role: "admin" | "developer") => `test-results/e2e/.auth/${role}.json`;

/**
 * Signs the page's browser in as the seeded admin or developer with the session global setup opened for that role
 * (one sign-in per role and run, through /api/auth/login), then opens "/" as the sign-in form's redirect does: the
 * page ends on the role's home, as after login(), or on `to`. For specs that are not about signing in; each sign-out or
 * password change of a seeded role signs in with login() (its own session) so the shared one lives on.
 */
export async function signedInAs(page: Page, role: "admin" | "developer", to = "/") {
  const { cookies } = JSON.parse(readFileSync(sessionStatePath(role), "utf8"));
  await page.context().addCookies(cookies);
  await page.goto(to);
  await expect(page).not.toHaveURL(/\/login/);
}

/**
 * Signs in with the request the sign-in form sends (POST /api/auth/login, its session cookie landing in the page's
 * browser) and opens `to` ("/" goes to the person's home, as the form does): for specs that are not about the form,
 * which login() fills.
 */
export async function signIn(page: Page, email: string, password: string, to = "/") {
  const res = await page.request.post("/api/auth/login", {
    headers: { origin: process.env.E2E_APP_URL! },
    data: { email, password },
  });
  expect(res.status(), `signing in ${email}`).toBe(200);
  await page.goto(to);
  await expect(page).not.toHaveURL(/\/login/);
}

/** Saves a full-page screenshot under test-results/screens for a person to look at. */
export async function snap(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
}

/**
 * A fresh developer on no plan (a pay-as-you-go key is served from a lease), funded by a top-up, with one key:
 * specs that count their own calls start from one.
 */
export async function fundedDeveloper(
  sql: Sql,
  {
    prefix,
    keyName,
    amountMicros = 5_000_000n,
    password,
  }: { prefix: string; keyName: string; amountMicros?: bigint; password?: string },
) {
  const email = `${prefix}-${randomUUID().slice(0, 8)}@example.com`;
  const hash = password ? await hashPassword(password) : null;
  const [user] = await sql<
    { id: string }[]
  >`insert into users (email, role, password_hash) values (${email}, 'developer', ${hash}) returning id`;
  const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${user!.id}`;
  const system = { userId: null, kind: "system" as const };
  if (amountMicros > 0n)
    await creditAccount(sql, system, {
      accountId: account!.id,
      amountMicros,
      kind: "topup",
      reason: "e2e",
      idempotencyKey: randomUUID(),
    });
  const { key, secret } = await createKey(
    sql,
    system,
    { userId: user!.id, name: keyName, allowedModels: [], rpmLimit: null, tpmLimit: null, expiresAt: null },
    { pepper: TEST_KEY_PEPPER },
  );
  return { email, userId: user!.id, accountId: account!.id, keyId: key.id, secret };
}

/** A link of the sidebar's navigation (other links on a page may share its name, e.g. the developer home's). */
export function navLink(page: Page, name: string) {
  return page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
}
