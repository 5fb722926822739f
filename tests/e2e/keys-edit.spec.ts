import { expect, type Page, test } from "@playwright/test";
import OpenAI from "openai";
import { displayMicros } from "@/lib/billing/money";
import { createClient } from "@/lib/db/client";
import { fundedDeveloper, seriousViolations, signedInAs, signIn, snap } from "./helpers";

// Issue 26's "edit a key's budget and see a call refused by it", and the links between users, keys and calls.

const PASSWORD = "e2e-password-123456";
/** The e2e stack's gateway caches a key's auth answer this long (tests/e2e/global-setup.ts). */
const AUTH_CACHE_TTL_MS = 2000;

/** Every table on the page fits its box: nothing scrolls sideways inside a card, the page is no wider than the window. */
async function expectTablesFit(page: Page) {
  await expect(page.locator("table").first()).toBeVisible();
  const overflow = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth - window.innerWidth,
    tables: [...document.querySelectorAll('[data-slot="table-container"]')].map(
      (el) => el.scrollWidth - el.clientWidth,
    ),
  }));
  expect(overflow.page).toBeLessThanOrEqual(0);
  for (const extra of overflow.tables) expect(extra).toBeLessThanOrEqual(0);
}

/** No serious or critical accessibility violation in the page's content (the header and sidebar are the shell's). */
async function expectAccessible(page: Page) {
  expect(await seriousViolations(page, { exclude: ["header", "aside"] })).toEqual([]);
}

async function refusal(call: Promise<unknown>) {
  try {
    await call;
    return null;
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error;
    throw error;
  }
}

test("a developer lowers their key's daily budget below what a call needs, and the gateway refuses that call", async ({
  browser,
}) => {
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const dev = await fundedDeveloper(sql, { prefix: "budget", keyName: "budgeted app", password: PASSWORD });
  const client = new OpenAI({ baseURL: process.env.E2E_GATEWAY_URL, apiKey: dev.secret, maxRetries: 0 });
  const messages = [{ role: "user" as const, content: "hello under a budget" }];

  // A call with no budget on the key succeeds; the gateway serves it from a balance lease it holds for the key.
  const first = await client.chat.completions.create({ model: "fake-small", messages, max_tokens: 5 });
  expect(first.choices[0]!.message.content).toBeTruthy();
  const charged = Math.ceil(
    (first.usage!.prompt_tokens * 500_000 + first.usage!.completion_tokens * 1_500_000) / 1_000_000,
  );
  const leased = async () => {
    const [row] = await sql<{ reserved: bigint }[]>`
      select coalesce(sum(reserved_micros), 0)::bigint as reserved from leases
      where key_id = ${dev.keyId} and status in ('open', 'closing')`;
    return Number(row!.reserved);
  };
  // What the lease reserves is far more than the budget about to be set: the case where money could leak.
  const BUDGET = 1_000;
  expect(await leased()).toBeGreaterThan(BUDGET * 10);

  // The keys page reads the key's spend when it opens: open it once the gateway's usage event has been settled (the
  // outbox delivers within a second or so; a loaded machine takes longer).
  for (let waited = 0; waited < 20_000; waited += 100) {
    const [settled] = await sql<{ n: number }[]>`
      select count(*)::int as n from usage_events where key_id = ${dev.keyId}`;
    if (settled!.n > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, dev.email, PASSWORD, "/account/keys");
  const row = page.getByTestId("key-row-budgeted app");
  await expect(row.getByTestId("key-spend")).toContainText(`charged ${displayMicros(charged)} today`, {
    timeout: 15_000,
  });
  await expectTablesFit(page);

  // Edit: the dialog opens with the key as it is.
  await row.getByRole("button", { name: "Edit" }).click();
  const dialog = page.getByTestId("edit-key-dialog");
  await expect(dialog.getByLabel("Name")).toHaveValue("budgeted app");
  await expect(dialog.getByLabel("Daily budget (USD)")).toHaveValue("");
  await expect(dialog.getByLabel("Requests / min")).toHaveValue("");
  // Not an amount: said at the field, nothing sent.
  await dialog.getByLabel("Daily budget (USD)").fill("0.0000001");
  await expect(dialog.getByRole("alert")).toContainText("at most 6 decimals");
  await expect(dialog.getByRole("button", { name: "Save changes" })).toBeDisabled();
  await dialog.getByLabel("Daily budget (USD)").fill("0.001");
  await dialog.getByLabel("Requests / min").fill("120");
  await snap(page, "keys-edit-01-dialog");
  await expectAccessible(page);
  const saved = page.waitForResponse(
    (res) => res.url().includes(`/api/v1/keys/${dev.keyId}`) && res.request().method() === "PATCH",
  );
  await dialog.getByRole("button", { name: "Save changes" }).click();
  const response = await saved;
  const savedAt = Date.now();
  expect(response.status()).toBe(200);
  expect(response.request().postDataJSON()).toEqual({ rpmLimit: 120, dailyBudgetMicros: String(BUDGET) });
  await expect(dialog).toHaveCount(0);

  // The list shows the new budget (exactly 1,000 µ$) beside what was charged, and the new limit.
  const budget = row.getByTestId("key-daily-budget");
  await expect(budget).toHaveText(displayMicros(BUDGET));
  await expect(budget).toHaveAttribute("data-micros", String(BUDGET));
  await expect(row.getByTestId("key-limits")).toContainText("120 rpm");
  const [stored] = await sql<{ daily_budget_micros: bigint; rpm_limit: number }[]>`
    select daily_budget_micros, rpm_limit from api_keys where id = ${dev.keyId}`;
  expect(stored).toEqual({ daily_budget_micros: BigInt(BUDGET), rpm_limit: 120 });

  // Once the gateway's cached auth answer has expired, its lease (granted under the old budget) goes back, and a
  // call whose worst case (1,000 output tokens at $1.50 / 1M ≥ $0.0015) does not fit what the budget leaves is
  // refused with the platform's sentence.
  await page.waitForTimeout(Math.max(0, savedAt + AUTH_CACHE_TTL_MS + 500 - Date.now()));
  const refused = await refusal(
    client.chat.completions.create({ model: "fake-small", messages, max_tokens: 1000 }),
  );
  expect(refused?.status).toBe(429);
  expect(refused?.message).toMatch(
    /This key's budget would be exceeded: this call may cost up to \$0\.\d{6}; today \$0\.\d{6} of \$0\.001000 used\./,
  );
  // No lease keeps serving past the budget: the old one went back, and what live leases reserve fits inside it.
  await expect.poll(leased, { timeout: 5_000 }).toBeLessThanOrEqual(BUDGET);
  // A call that fits what is left is still served: a budget is a ceiling, not a switch.
  const small = await client.chat.completions.create({ model: "fake-small", messages, max_tokens: 5 });
  expect(small.choices[0]!.message.content).toBeTruthy();
  expect(await leased()).toBeLessThanOrEqual(BUDGET);

  await page.reload();
  await expect(row.getByTestId("key-daily-budget")).toHaveText(displayMicros(BUDGET));
  await row.getByRole("button", { name: "Details of budgeted app" }).click();
  await expect(page.getByTestId("key-details-budgeted app")).toContainText("of $0.001");
  await snap(page, "keys-edit-02-budget-1280");
  await expectTablesFit(page);
  await expectAccessible(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(row.getByTestId("key-daily-budget")).toBeVisible();
  await snap(page, "keys-edit-03-budget-390");
  await expectAccessible(page);
  // "My calls": each call links to the key that made it.
  await page.goto(`/account/requests?keyId=${dev.keyId}`);
  await expect(page.getByTestId("request-row")).toHaveCount(2, { timeout: 15_000 });
  await expectAccessible(page);
  await snap(page, "keys-edit-04-my-calls-390");
  await context.close();
  await sql.end();
});

test("an admin goes from a user to their account, keys and calls, and from a call to its key; a call is found by its id", async ({
  browser,
}) => {
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const dev = await fundedDeveloper(sql, { prefix: "links", keyName: "linked app" });
  const client = new OpenAI({ baseURL: process.env.E2E_GATEWAY_URL, apiKey: dev.secret, maxRetries: 0 });
  await client.chat.completions.create({
    model: "fake-small",
    messages: [{ role: "user", content: "find me" }],
    max_tokens: 5,
  });
  let callId = "";
  await expect
    .poll(
      async () => {
        const [row] = await sql<{ call_id: string }[]>`
          select call_id from usage_events where key_id = ${dev.keyId}`;
        callId = row?.call_id ?? "";
        return callId;
      },
      { timeout: 20_000 },
    )
    .not.toBe("");

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();

  // Users: the table fits at 1280 px; a user's row links to their account, keys and calls.
  await signedInAs(page, "admin", `/admin/users?q=${encodeURIComponent(dev.email)}`);
  const userRow = page.getByTestId(`user-row-${dev.email}`);
  await expect(userRow).toBeVisible();
  await expect(page.locator('[data-testid^="user-row-"]')).toHaveCount(1);
  await expectTablesFit(page);
  await snap(page, "keys-edit-10-users-1280");
  await expectAccessible(page);

  await userRow.getByRole("link", { name: `Keys of ${dev.email}` }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/keys\\?userId=${dev.userId}$`));
  await expect(page.getByTestId("keys-narrowed")).toContainText(`Showing the keys of ${dev.email}`);
  await expect(page.locator('[data-testid^="key-row-"]')).toHaveCount(1);
  const keyRow = page.getByTestId("key-row-linked app");
  await expect(keyRow).toContainText(dev.secret.slice(0, 11));
  await keyRow.getByRole("button", { name: `Copy prefix ${dev.secret.slice(0, 11)}` }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(dev.secret.slice(0, 11));
  await expectTablesFit(page);
  await snap(page, "keys-edit-11-user-keys-1280");
  await expectAccessible(page);

  await page.goBack();
  await userRow.getByRole("link", { name: `Calls of ${dev.email}` }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/requests\\?userId=${dev.userId}$`));
  const callRow = page.getByTestId("request-row");
  await expect(callRow).toHaveCount(1);
  await expectTablesFit(page);
  await snap(page, "keys-edit-12-user-calls-1280");
  await expectAccessible(page);

  // From the call to its key.
  await callRow.getByRole("link", { name: dev.secret.slice(0, 11) }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/keys\\?keyId=${dev.keyId}$`));
  await expect(page.getByTestId("keys-narrowed")).toContainText("Showing one key");
  await expect(page.getByTestId("key-row-linked app")).toBeVisible();

  await page.goBack();
  await page.getByTestId("request-row").getByRole("link", { name: dev.email }).click();
  await expect(page).toHaveURL(/\/admin\/users\?q=/);
  await expect(page.getByTestId(`user-row-${dev.email}`)).toBeVisible();
  await page
    .getByTestId(`user-row-${dev.email}`)
    .getByRole("link", { name: `Account of ${dev.email}` })
    .click();
  await expect(page).toHaveURL(new RegExp(`/admin/accounts/${dev.accountId}$`));

  // A call's id in the address opens its drawer; its id is copyable.
  await page.goto(`/admin/requests?callId=${callId}`);
  const drawer = page.getByTestId("request-drawer");
  await expect(drawer.getByTestId("drawer-call-id")).toHaveText(callId);
  await drawer.getByRole("button", { name: "Copy call id" }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(callId);
  await snap(page, "keys-edit-13-call-drawer-1280");
  await expectAccessible(page);
  await page.keyboard.press("Escape");

  // The search box: the first characters find it; something that is not an id is said so, and not searched.
  await page.goto("/admin/requests");
  const search = page.getByLabel("Search by call id");
  await search.fill("not-an-id!");
  await page.getByRole("button", { name: "Find call" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Enter a call id" })).toBeVisible();
  await expect(page).toHaveURL(/\/admin\/requests$/);
  await search.fill(callId.slice(0, 13).toUpperCase());
  await page.getByRole("button", { name: "Find call" }).click();
  await expect(page).toHaveURL(new RegExp(`callId=${callId.slice(0, 13)}`));
  await expect(page.getByTestId("request-row").filter({ hasText: dev.email })).toHaveCount(1);
  await expectTablesFit(page);
  await snap(page, "keys-edit-14-call-search-1280");

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`/admin/users?q=${encodeURIComponent(dev.email)}`);
  await expect(page.getByTestId(`user-row-${dev.email}`)).toBeVisible();
  await snap(page, "keys-edit-15-users-390");
  await page.goto(`/admin/requests?userId=${dev.userId}`);
  await expect(page.getByTestId("request-row")).toHaveCount(1);
  await snap(page, "keys-edit-16-calls-390");
  await expectAccessible(page);
  await context.close();
  await sql.end();
});
