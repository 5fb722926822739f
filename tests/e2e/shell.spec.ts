import { randomUUID } from "node:crypto";
import { expect, type Page, test } from "@playwright/test";
import OpenAI from "openai";
import { createClient } from "@/lib/db/client";
import { createKey } from "@/lib/keys/create";
import { TEST_KEY_PEPPER } from "../stack/start";
import { admin, developer, navLink, seriousViolations, signedInAs, snap } from "./helpers";

// The dashboard's shell: navigation on a phone (a sheet), wide screens used, the command palette finding a real
// call and scoped to the person, breadcrumbs back from a nested page.

const sqlOf = () => createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });

/** Ctrl-K, pressed again until the page has hydrated and listens (a person would press it again too). */
async function openPalette(page: Page) {
  const palette = page.getByRole("dialog", { name: "Search" });
  await expect(async () => {
    if (!(await palette.isVisible())) await page.keyboard.press("Control+k");
    await expect(palette).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  return palette;
}

/** Serious or critical accessibility violations inside a part of the page (the header, the sheet, the palette). */
const violations = (page: Page, selector = "[role=dialog]") => seriousViolations(page, { include: selector });

/** How much wider the page is than the window (0: no horizontal scroll). */
const overflowX = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

test("on a 390 px phone the header's menu opens the navigation in a sheet, and nothing scrolls sideways", async ({
  browser,
}) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signedInAs(page, "developer", "/account/billing");
  await expect(page.getByRole("heading", { name: "Balance & usage" })).toBeVisible();
  // The sidebar is hidden; the header keeps the menu, search and user menu inside the window.
  await expect(page.getByRole("navigation", { name: "Main" })).toBeHidden();
  for (const name of ["Open navigation", "Search", "User menu"]) {
    const box = (await page.locator("header").getByRole("button", { name, exact: true }).boundingBox())!;
    expect(box.x, name).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, name).toBeLessThanOrEqual(390);
  }
  expect(await overflowX(page)).toBe(0);
  await snap(page, "shell-390-page");

  const menu = page.getByRole("button", { name: "Open navigation" });
  await menu.click();
  const sheet = page.getByRole("dialog");
  await expect(sheet).toBeVisible();
  await expect(sheet.getByRole("link", { name: "My calls" })).toBeVisible();
  // Focus is trapped in the sheet: tabbing through it never reaches the page behind.
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press("Tab");
    expect(await sheet.evaluate((el) => el.contains(document.activeElement))).toBe(true);
  }
  expect(await violations(page)).toEqual([]);
  await snap(page, "shell-390-sheet");
  await page.keyboard.press("Escape");
  await expect(sheet).toBeHidden();
  await expect(menu).toBeFocused();

  await menu.click();
  await page.getByRole("dialog").getByRole("link", { name: "My API keys" }).click();
  await expect(page).toHaveURL(/\/account\/keys$/);
  await expect(page.getByRole("dialog")).toBeHidden();
  await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();
  expect(await overflowX(page)).toBe(0);
  await snap(page, "shell-390-keys");

  // The palette fits the phone too, opened from the header's search button.
  await page
    .locator("header")
    .getByRole("button", { name: /^Search/ })
    .click();
  const palette = page.getByRole("dialog", { name: "Search" });
  await palette.getByRole("combobox").fill("calls");
  await expect(palette.getByRole("option", { name: /My calls/ })).toBeVisible();
  const box = (await palette.boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(390);
  await snap(page, "shell-390-palette");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/account\/requests$/);
  await context.close();
});

test("content uses wide screens and still fits at 1280×800", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await context.newPage();
  await signedInAs(page, "admin", "/admin/requests");
  await expect(page.getByRole("heading", { name: "Request log" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Open navigation" })).toBeHidden();
  const wide = (await page.locator("main").boundingBox())!;
  expect(wide.width).toBeGreaterThan(1200);
  // The page's own content, not just its box: the request log's card spans the width.
  const heading = (await page.getByRole("heading", { name: "Request log" }).boundingBox())!;
  expect(wide.x + wide.width - heading.x).toBeGreaterThan(1200);
  await snap(page, "shell-1920-requests");

  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto("/admin/accounts");
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  const main = (await page.locator("main").boundingBox())!;
  expect(main.x).toBeGreaterThanOrEqual(240);
  expect(main.x + main.width).toBeLessThanOrEqual(1280);
  expect(await overflowX(page)).toBe(0);
  expect(await violations(page, "header")).toEqual([]);
  await snap(page, "shell-1280-accounts");
  await context.close();
});

test("Ctrl-K finds a real call by the first characters of its id, and Enter opens it", async ({ page }) => {
  const sql = sqlOf();
  const client = new OpenAI({
    baseURL: process.env.E2E_GATEWAY_URL,
    apiKey: process.env.E2E_DEV_KEY!,
    maxRetries: 0,
  });
  const { response } = await client.chat.completions
    .create({ model: "fake-small", messages: [{ role: "user", content: "find me" }], max_tokens: 4 })
    .withResponse();
  const callId = response.headers.get("x-litellm-call-id")!;
  expect(callId).toMatch(/^[0-9a-f-]{36}$/);
  // The gateway reports the call in the background: wait until the platform has it.
  await expect
    .poll(async () => (await sql`select 1 from usage_events where call_id = ${callId}`).length, {
      timeout: 15_000,
    })
    .toBe(1);
  await sql.end();

  await page.setViewportSize({ width: 1280, height: 800 });
  await signedInAs(page, "developer");
  const palette = await openPalette(page);
  await expect(palette.getByRole("option", { name: /My calls/ })).toBeVisible();
  await palette.getByRole("combobox").fill(callId.slice(0, 13));
  const hit = palette.getByRole("option").filter({ hasText: callId });
  await expect(hit).toBeVisible();
  await expect(hit).toHaveAttribute("aria-selected", "true");
  expect(await violations(page)).toEqual([]);
  await snap(page, "shell-palette-call");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`/account/requests\\?callId=${callId}$`));
  await expect(palette).toBeHidden();
  // The request log opens the call's details (the page behind is hidden from assistive tech while it is open).
  await expect(page.getByRole("dialog", { name: `Call ${callId}` })).toBeVisible();
  await snap(page, "shell-palette-landed");
  await page.keyboard.press("Escape");
  await expect(page.getByRole("heading", { name: "My calls" })).toBeVisible();

  // The header's button opens it too, and Escape closes it.
  await page
    .locator("header")
    .getByRole("button", { name: /^Search/ })
    .click();
  await expect(palette).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(palette).toBeHidden();
});

test("a developer's palette finds none of an admin's keys; the admin's does, and opens a user's account", async ({
  browser,
}) => {
  const sql = sqlOf();
  const name = `ops-only-${randomUUID().slice(0, 6)}`;
  const [owner] = await sql<{ id: string }[]>`select id from users where email = ${admin().email}`;
  await createKey(
    sql,
    { userId: null, kind: "system" },
    { userId: owner!.id, name, allowedModels: [], rpmLimit: null, tpmLimit: null, expiresAt: null },
    { pepper: TEST_KEY_PEPPER },
  );
  const [account] = await sql<{ id: string }[]>`
    select a.id from accounts a join users u on u.id = a.owner_user_id where u.email = ${developer().email}`;
  await sql.end();

  const devContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const dev = await devContext.newPage();
  await signedInAs(dev, "developer");
  const devPalette = await openPalette(dev);
  await devPalette.getByRole("combobox").fill(name);
  await expect(devPalette.getByText(`Nothing matches “${name}”.`)).toBeVisible();
  await expect(devPalette.getByRole("option")).toHaveCount(0);
  await snap(dev, "shell-palette-developer-nothing");
  await devContext.close();

  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await adminContext.newPage();
  await signedInAs(page, "admin");
  const palette = await openPalette(page);
  await palette.getByRole("combobox").fill(name);
  await expect(palette.getByRole("option").filter({ hasText: name })).toBeVisible();
  await palette.getByRole("option").filter({ hasText: name }).click();
  await expect(page).toHaveURL(/\/admin\/keys\?keyId=[0-9a-f-]{36}$/);
  await expect(page.getByText(name).first()).toBeVisible();

  // A user found by the start of their email opens their account page, with breadcrumbs back to Accounts.
  await openPalette(page);
  await palette.getByRole("combobox").fill(`${developer().email.split("@")[0]}@`);
  const user = palette.getByRole("option").filter({ hasText: developer().email });
  await expect(user).toBeVisible();
  await snap(page, "shell-palette-admin-user");
  await user.click();
  await expect(page).toHaveURL(new RegExp(`/admin/accounts/${account!.id}$`));
  const crumbs = page.getByRole("navigation", { name: "Breadcrumb" });
  await expect(crumbs).toContainText("Admin");
  const current = crumbs.locator('[aria-current="page"]');
  await expect(current).toHaveText(developer().email);
  // Shown whole, not cut.
  expect(await current.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
  await snap(page, "shell-breadcrumbs-account");
  await crumbs.getByRole("link", { name: "Accounts" }).click();
  await expect(page).toHaveURL(/\/admin\/accounts$/);
  await expect(page.getByRole("heading", { name: "Accounts", exact: true })).toBeVisible();
  // A page that is a nav item has no trail: the sidebar says where one is.
  await expect(page.getByRole("navigation", { name: "Breadcrumb" })).toHaveCount(0);
  await adminContext.close();
});

test("a page asks the server for no other route on load; pointing at a link prefetches it, and following it does not reload", async ({
  page,
}) => {
  const prefetched: string[] = [];
  let documents = 0;
  page.on("request", (request) => {
    if (request.headers()["next-router-prefetch"]) prefetched.push(new URL(request.url()).pathname);
    else if (request.isNavigationRequest() && request.frame() === page.mainFrame()) documents++;
  });
  // The users list: the sidebar's ~20 links and a link a row, each rendered per request on the server. Loaded again
  // with the pointer on the header's empty middle, over no link: a new page's pointer sits at its top-left corner, on
  // the sidebar's logo (a link to "/"), whose mouseenter Chromium fires once the page lays out.
  await signedInAs(page, "admin", "/admin/users");
  await page.mouse.move(400, 28);
  await page.waitForLoadState("networkidle");
  prefetched.length = 0;
  await page.reload();
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
  await page.waitForLoadState("networkidle");
  await page.waitForTimeout(1_000);
  expect(prefetched).toEqual([]);
  const settlement = navLink(page, "Settlement");
  await settlement.hover();
  await expect.poll(() => prefetched).toContain("/admin/settlement");
  const before = documents;
  await settlement.click();
  await expect(page.getByRole("heading", { name: "Settlement" })).toBeVisible();
  expect(documents).toBe(before);
  expect(prefetched.filter((p) => p !== "/admin/settlement")).toEqual([]);
});
