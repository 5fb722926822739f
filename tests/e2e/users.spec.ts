import { expect, test } from "@playwright/test";
import { admin, login, navLink, signedInAs, snap } from "./helpers";

test("admin creates a developer and suspends them; the developer's next request is refused", async ({
  browser,
}) => {
  const adminContext = await browser.newContext();
  const page = await adminContext.newPage();
  await signedInAs(page, "admin");
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await snap(page, "00-admin-home-overview");
  await navLink(page, "Users").click();
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
  await snap(page, "01-users-list");

  // Create a developer through the dialog.
  const email = `e2e-dev-${Date.now()}@example.com`;
  await page.getByRole("button", { name: "New user" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Email").fill(email);
  await dialog.getByLabel("Name").fill("E2E Developer");
  await dialog.getByLabel("Initial password").fill("e2e-password-123456");
  await snap(page, "02-create-user-dialog");
  await page.getByRole("button", { name: "Create user" }).click();
  const row = page.getByTestId(`user-row-${email}`);
  await expect(row).toBeVisible();
  await expect(row.getByText("active")).toBeVisible();

  // The developer signs in in their own browser and sees their account.
  const devContext = await browser.newContext();
  const devPage = await devContext.newPage();
  await login(devPage, email, "e2e-password-123456");
  await expect(devPage).toHaveURL(/\/home$/);
  await expect(devPage.getByText(`Signed in as ${email}.`)).toBeVisible();
  await devPage.goto("/account");
  await expect(devPage.getByTestId("profile-email")).toHaveText(email);
  await snap(devPage, "03-developer-account");
  // A developer never reaches admin pages or APIs.
  await devPage.goto("/admin/users");
  await expect(devPage).toHaveURL(/\/home$/);
  expect((await devPage.request.get("/api/v1/users")).status()).toBe(403);

  // The admin suspends them.
  await row.getByRole("button", { name: "Suspend" }).click();
  await expect(row.getByText("suspended")).toBeVisible();
  await snap(page, "04-user-suspended");

  // Their very next request is refused, and the page sends them to sign in.
  expect((await devPage.request.get("/api/v1/me")).status()).toBe(401);
  await devPage.reload();
  await expect(devPage).toHaveURL(/\/login/);
  await devPage.getByLabel("Email").fill(email);
  await devPage.getByLabel("Password").fill("e2e-password-123456");
  await devPage.getByRole("button", { name: "Sign in" }).click();
  await expect(devPage.getByTestId("form-error")).toContainText("suspended");
  await snap(devPage, "05-suspended-login-refused");

  // The audit log shows what happened.
  await page.goto("/admin/audit");
  await expect(page.getByText("user.suspend").first()).toBeVisible();
  await expect(page.getByText("user.create").first()).toBeVisible();
  await snap(page, "06-audit-log");
  // Filters go into the URL: a filtered view survives a reload and can be shared.
  await page.getByLabel("Filter by action").fill("user.susp");
  await page.getByLabel("Filter by actor").fill("admin");
  await expect(page).toHaveURL(/action=user\.susp.*actor=admin/);
  await page.reload();
  await expect(page.getByLabel("Filter by action")).toHaveValue("user.susp");
  await expect(page.getByText("user.suspend").first()).toBeVisible();
  await expect(page.getByText("user.create")).toHaveCount(0);
  await page.getByLabel("Filter by from (utc day)").fill("2000-01-01");
  await page.getByLabel("Filter by to (utc day)").fill("2000-01-02");
  await expect(page.getByText("No entries match these filters.")).toBeVisible();
  await snap(page, "06b-audit-log-filtered");
  await adminContext.close();
  await devContext.close();
});

test("anonymous visitors are sent to sign in; wrong passwords are refused", async ({ page }) => {
  await page.goto("/admin/users");
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel("Email").fill(admin().email);
  await page.getByLabel("Password").fill("definitely-wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("form-error")).toContainText("incorrect");
  await snap(page, "00-login-error");
});

test("the theme switches to dark and the user signs out", async ({ page }) => {
  await login(page, admin().email, admin().password);
  await page.getByRole("button", { name: "User menu" }).click();
  await page.getByRole("menuitem", { name: "Dark" }).click();
  await expect(page.locator("html")).toHaveClass(/dark/);
  await snap(page, "07-dark-theme");
  await page.getByRole("button", { name: "User menu" }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  expect((await page.request.get("/api/v1/me")).status()).toBe(401);
});
