import { randomUUID } from "node:crypto";
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

export async function login(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
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
