import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { expect, type Page, test } from "@playwright/test";
import { hashPassword } from "@/lib/auth/password";
import { displayMicros } from "@/lib/billing/money";
import { createClient } from "@/lib/db/client";
import { fundedDeveloper, login, snap } from "./helpers";

// A developer's home: the first sign-in lands on it, it shows the balance, and its curl line, copied from the page
// and run as pasted (the secret in $TOLLGATE_API_KEY), gets a completion through the real gateway; the call then
// shows in its recent calls with the ledger's charge. A developer with no key creates one from it. Profile: the
// password change keeps this browser and signs out the others; "Sign out everywhere" ends them all.

const PASSWORD = "home-e2e-password-1";
const sqlOf = () => createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });

/** No page wider than its window: nothing scrolls sideways but inside its own box. */
async function fitsViewport(page: Page) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  expect(scroll, "page wider than the viewport").toBeLessThanOrEqual(width);
}

test("a developer's first sign-in lands on the home, which shows the balance and a curl line that works as pasted", async ({
  page,
  context,
}) => {
  test.setTimeout(90_000);
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.setViewportSize({ width: 1280, height: 800 });
  const sql = sqlOf();
  const dev = await fundedDeveloper(sql, { prefix: "home", keyName: "laptop", password: PASSWORD });
  const [key] = await sql<{ prefix: string }[]>`select prefix from api_keys where id = ${dev.keyId}`;

  await login(page, dev.email, PASSWORD);
  await expect(page).toHaveURL(/\/home$/);
  await expect(page.getByTestId("home-balance")).toHaveText("$5.00");
  await expect(page.getByTestId("home-runway")).toHaveText("Nothing charged yet: no pace to measure.");
  await expect(page.getByTestId("home-plan")).toHaveText("Pay as you go");
  await expect(page.getByTestId("home-low-balance")).toHaveCount(0);
  await expect(page.getByTestId("home-no-calls")).toBeVisible();
  await expect(page.getByTestId("quick-start-key")).toHaveText(`laptop (${key!.prefix}…)`);
  const shortcuts = page.getByRole("navigation", { name: "Shortcuts" });
  await expect(shortcuts.getByRole("link", { name: /^Playground/ })).toHaveAttribute("href", "/playground");
  await expect(shortcuts.getByRole("link", { name: /^Models & prices/ })).toHaveAttribute(
    "href",
    "/account/models",
  );
  await fitsViewport(page);
  await snap(page, "home-01-first-sign-in-1280");

  // Copy the curl line as a person would, and read what the clipboard got.
  await page.getByRole("button", { name: "Copy curl code" }).click();
  await expect(page.getByRole("button", { name: "Copied" })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(await page.getByTestId("code-curl").textContent());
  expect(copied).toContain(`${process.env.E2E_GATEWAY_URL}/chat/completions`);
  expect(copied).toContain("Bearer $TOLLGATE_API_KEY");
  expect(copied).not.toContain(dev.secret);

  // Run it as pasted, with the secret exported; curl's own flags after it only report the HTTP status.
  const out = execFileSync("sh", ["-c", `${copied} -sS -w '\\n%{http_code}'`], {
    env: { ...process.env, TOLLGATE_API_KEY: dev.secret },
    encoding: "utf8",
    timeout: 30_000,
  });
  const status = out.slice(out.lastIndexOf("\n") + 1);
  const completion = JSON.parse(out.slice(0, out.lastIndexOf("\n")));
  expect(status).toBe("200");
  expect(completion.object).toBe("chat.completion");
  expect(completion.choices[0].message.content.length).toBeGreaterThan(0);

  // The call is charged, then listed on the home with the ledger's amount, and the balance is lower by it.
  await expect
    .poll(async () => (await sql`select 1 from usage_events where key_id = ${dev.keyId}`).length, {
      timeout: 30_000,
    })
    .toBe(1);
  const [usage] = await sql<{ revenue: bigint; model: string }[]>`
    select revenue_micros as revenue, model_group as model from usage_events where key_id = ${dev.keyId}`;
  await page.reload();
  const rows = page.getByTestId("home-calls").locator("tbody tr");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(usage!.model);
  await expect(rows.first().locator("[data-micros]")).toHaveAttribute("data-micros", String(usage!.revenue));
  await expect(rows.first()).toContainText(displayMicros(usage!.revenue));
  const [account] = await sql<{ balance: bigint }[]>`
    select balance_micros as balance from accounts where id = ${dev.accountId}`;
  expect(account!.balance).toBe(5_000_000n - usage!.revenue);
  await expect(page.getByTestId("home-balance").locator("[data-micros]")).toHaveAttribute(
    "data-micros",
    String(account!.balance),
  );
  // The burn rate is the last 7 days' charges over 7: one call of a few micro-dollars lasts a $5 balance for ages.
  await expect(page.getByTestId("home-burn").locator("[data-micros]")).toHaveAttribute(
    "data-micros",
    String(usage!.revenue / 7n),
  );
  await expect(page.getByTestId("home-runway")).toHaveText(
    "At this pace the available balance lasts more than a year.",
  );
  await page.getByRole("tab", { name: "Python" }).click();
  await expect(page.getByTestId("code-python")).toContainText('os.environ["TOLLGATE_API_KEY"]');
  await page.getByRole("tab", { name: "curl" }).click();
  await snap(page, "home-02-after-a-call-1280");

  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await expect(page.getByTestId("home-balance")).toBeVisible();
  await fitsViewport(page);
  await snap(page, "home-03-after-a-call-390");
  await sql.end();
});

test("a developer with no key and no money: a warning with a way to top up, and a first key created from the home", async ({
  page,
}) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const sql = sqlOf();
  const email = `home-nokey-${randomUUID().slice(0, 8)}@example.com`;
  await sql`insert into users (email, role, password_hash) values (${email}, 'developer', ${await hashPassword(PASSWORD)})`;
  await login(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/home$/);
  await expect(page.getByTestId("home-balance")).toHaveText("$0.00");
  const warning = page.getByTestId("home-low-balance");
  await expect(warning).toContainText("Your available balance ($0.00) is below $1.00");
  await expect(warning.getByRole("link", { name: "Top up" })).toHaveAttribute("href", "/account/billing");
  await expect(page.getByTestId("no-key")).toContainText("Create your first API key");
  await expect(page.getByTestId("code-curl")).toHaveCount(0);
  await snap(page, "home-04-no-key-1280");

  await page.getByRole("button", { name: "New key" }).click();
  await page.getByLabel("Name").fill("first app");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = await page.getByTestId("new-key-secret").textContent();
  expect(secret).toMatch(/^tg_/);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByTestId("quick-start-key")).toHaveText(`first app (${secret!.slice(0, 11)}…)`);
  await expect(page.getByTestId("code-curl")).toContainText("$TOLLGATE_API_KEY");
  await expect(page.getByTestId("code-curl")).not.toContainText(secret!);
  await sql.end();
});

test("profile: a password change keeps this browser and signs out the others; sign out everywhere ends them all", async ({
  page,
  browser,
}) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const sql = sqlOf();
  const dev = await fundedDeveloper(sql, { prefix: "profile", keyName: "k", password: PASSWORD });
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await login(otherPage, dev.email, PASSWORD);
  await login(page, dev.email, PASSWORD);
  await page.goto("/account");
  await expect(page.getByRole("heading", { name: "Profile & sessions" })).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: "this browser" })).toHaveCount(1);

  // A wrong current password: refused on the field, nothing changes.
  const NEW = "home-e2e-password-2";
  await page.getByLabel("Current password", { exact: true }).fill("not-my-password");
  await page.getByLabel("New password", { exact: true }).fill(NEW);
  await page.getByLabel("Repeat the new password").fill(NEW);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator("#current-password-error")).toHaveText("is not correct");
  await otherPage.reload();
  await expect(otherPage).not.toHaveURL(/\/login/);

  await page.getByLabel("Current password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Password changed. 1 other session was signed out.")).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: "this browser" })).toHaveCount(1);
  await snap(page, "home-05-profile-password-changed-1280");
  // The other browser is signed out; this one is not.
  await otherPage.goto("/home");
  await expect(otherPage).toHaveURL(/\/login/);
  await page.reload();
  await expect(page).toHaveURL(/\/account$/);
  // The new password signs in elsewhere.
  await login(otherPage, dev.email, NEW);

  await page.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(page.getByRole("dialog")).toContainText("this browser's included");
  await snap(page, "home-06-sign-out-everywhere-confirm-1280");
  await page.getByRole("dialog").getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(page).toHaveURL(/\/login/);
  await otherPage.goto("/home");
  await expect(otherPage).toHaveURL(/\/login/);
  await page.setViewportSize({ width: 390, height: 844 });
  await login(page, dev.email, NEW);
  await page.goto("/account");
  await fitsViewport(page);
  await snap(page, "home-07-profile-390");
  await other.close();
  await sql.end();
});
