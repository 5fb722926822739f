// GDPR in the browser: a developer downloads their own data from their account page; an admin erases a developer
// from the users page by typing their email, and the row shows the pseudonym.
import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { createClient } from "@/lib/db/client";
import { developer, fundedDeveloper, signedInAs, signIn, snap } from "./helpers";

const PASSWORD = "gdpr-e2e-password-123456";

test("a developer exports their own data; an admin erases a developer", async ({ browser }) => {
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  try {
    const dev = await fundedDeveloper(sql, {
      prefix: "gdpr-export",
      keyName: "export app",
      password: PASSWORD,
    });
    const devContext = await browser.newContext({ acceptDownloads: true });
    const devPage = await devContext.newPage();
    await signIn(devPage, dev.email, PASSWORD, "/account");
    const exportLink = devPage.getByRole("link", { name: "Export my data" });
    await expect(exportLink).toBeVisible();
    await snap(devPage, "gdpr-01-account-export");
    const [download] = await Promise.all([devPage.waitForEvent("download"), exportLink.click()]);
    expect(download.suggestedFilename()).toBe(`tollgate-export-user-${dev.userId}.json`);
    const text = readFileSync((await download.path())!, "utf8");
    const doc = JSON.parse(text);
    expect(doc.profile.email).toBe(dev.email);
    expect(doc.keys.map((k: { id: string }) => k.id)).toEqual([dev.keyId]);
    expect(
      doc.ledgerEntries.map((e: { kind: string; amountMicros: number }) => [e.kind, e.amountMicros]),
    ).toEqual([["topup", 5_000_000]]);
    expect(text).not.toContain("$argon2");
    expect(text).not.toContain(dev.secret);
    await devContext.close();

    const victim = await fundedDeveloper(sql, {
      prefix: "gdpr-erase",
      keyName: "doomed app",
      password: PASSWORD,
    });
    const adminContext = await browser.newContext();
    const page = await adminContext.newPage();
    await signedInAs(page, "admin", `/admin/users?q=${encodeURIComponent(victim.email)}`);
    const row = page.getByTestId(`user-row-${victim.email}`);
    await expect(row).toBeVisible();
    await snap(page, "gdpr-02-users-row-actions");
    await row.getByRole("button", { name: `Data of ${victim.email}` }).click();
    await expect(page.getByRole("menuitem", { name: "Export data" })).toBeVisible();
    await snap(page, "gdpr-02b-user-data-menu");
    await page.getByRole("menuitem", { name: "Erase…" }).click();
    const dialog = page.getByRole("dialog");
    const confirm = dialog.getByRole("button", { name: "Erase user" });
    await expect(confirm).toBeDisabled();
    await dialog.getByLabel(`Type ${victim.email} to confirm`).fill(victim.email);
    await expect(confirm).toBeEnabled();
    await snap(page, "gdpr-03-erase-dialog");
    await confirm.click();
    const pseudonym = `erased-${victim.userId}@invalid`;
    await expect(page.getByText(`${victim.email} erased: now ${pseudonym}`)).toBeVisible();
    await page.getByLabel("Search users").fill(`erased-${victim.userId}`);
    const erasedRow = page.getByTestId(`user-row-${pseudonym}`);
    await expect(erasedRow).toBeVisible();
    await expect(erasedRow.getByText("erased", { exact: true })).toBeVisible();
    await expect(erasedRow.getByText("suspended")).toBeVisible();
    await snap(page, "gdpr-04-user-erased");

    const [user] = await sql`select email, name, password_hash from users where id = ${victim.userId}`;
    expect(user).toEqual({ email: pseudonym, name: null, password_hash: null });
    const [key] = await sql`select status from api_keys where id = ${victim.keyId}`;
    expect(key!.status).toBe("revoked");
    // The erased developer cannot sign in.
    const victimPage = await browser.newPage();
    await victimPage.goto("/login");
    await victimPage.getByLabel("Email").fill(victim.email);
    await victimPage.getByLabel("Password").fill(PASSWORD);
    await victimPage.getByRole("button", { name: "Sign in" }).click();
    await expect(victimPage.getByTestId("form-error")).toBeVisible();
    await victimPage.close();
    await adminContext.close();
  } finally {
    await sql.end();
  }
});

test("an organization's owner exports it from its settings", async ({ browser }) => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await signedInAs(page, "developer", "/orgs/acme/settings");
  const link = page.getByRole("link", { name: "Export organization data" });
  await expect(link).toBeVisible();
  await snap(page, "gdpr-05-org-settings-export");
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  expect(download.suggestedFilename()).toBe("tollgate-export-org-acme.json");
  const text = readFileSync((await download.path())!, "utf8");
  const doc = JSON.parse(text);
  expect(doc.organization).toMatchObject({ slug: "acme", name: "Acme Labs" });
  expect(doc.members.map((m: { email: string }) => m.email)).toContain(developer().email);
  expect(text).not.toContain("$argon2");
  await context.close();
});
