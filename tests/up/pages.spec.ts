import { expect, type Page, test } from "@playwright/test";
import { NAV } from "@/components/shell/nav";
import { login, snap } from "../e2e/helpers";

// Against the stack `npm run up` started: every page of the dashboard opens, and none reloads itself: each visit is
// exactly one document request of the main frame, counted over a few seconds of sitting on the page (a page that
// reloads itself, as Fast Refresh's full reloads did, asks for its document again; same-document URL updates such
// as filters written into the address are not reloads and do not count).

const pagesOf = (role: "admin" | "developer") =>
  NAV.filter((s) => s.roles.includes(role)).flatMap((s) => s.items.map((i) => i.href));

/**
 * A test's time: a minute for signing in, and 10 s a page (its 2 s on the page and its load). A flat 2 minutes ran out
 * on a loaded host at the admin's closing screenshot, every page visited; the figure grows with the pages.
 */
const timeFor = (role: "admin" | "developer") => 60_000 + pagesOf(role).length * 10_000;

async function visitEach(page: Page, role: "admin" | "developer", settleMs: number) {
  const hrefs = pagesOf(role);
  let navigations = 0;
  page.on("request", (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) navigations++;
  });
  const counts: Record<string, number> = {};
  for (const href of hrefs) {
    navigations = 0;
    await page.goto(href);
    await expect(page.locator("main h1")).toBeVisible();
    await page.waitForTimeout(settleMs);
    counts[href] = navigations;
  }
  return counts;
}

test("as the admin: every page opens from the production build and none reloads itself", async ({ page }) => {
  test.setTimeout(timeFor("admin"));
  await login(page, process.env.UP_ADMIN_EMAIL!, process.env.UP_ADMIN_PASSWORD!);
  await expect(page).toHaveURL(/\/admin$/);
  const counts = await visitEach(page, "admin", 2_000);
  expect(Object.keys(counts).length).toBeGreaterThan(10);
  for (const [href, n] of Object.entries(counts))
    expect(n, `${href} asked for its document ${n} times`).toBe(1);
  await page.goto("/admin");
  await snap(page, "90-npm-run-up-overview");
});

test("as the developer: every page opens and none reloads itself", async ({ page }) => {
  test.setTimeout(timeFor("developer"));
  await login(page, process.env.UP_DEV_EMAIL!, process.env.UP_DEV_PASSWORD!);
  const counts = await visitEach(page, "developer", 2_000);
  for (const [href, n] of Object.entries(counts))
    expect(n, `${href} asked for its document ${n} times`).toBe(1);
  // And a stay on the login page (where the reload loop was seen) is one navigation too.
  const fresh = await page.context().browser()!.newPage();
  let n = 0;
  fresh.on("request", (request) => {
    if (request.isNavigationRequest() && request.frame() === fresh.mainFrame()) n++;
  });
  await fresh.goto("/login");
  await fresh.waitForTimeout(3_000);
  expect(n).toBe(1);
  await fresh.close();
});
