import { randomBytes } from "node:crypto";
import { expect, test } from "@playwright/test";
import { createClient } from "@/lib/db/client";
import { fundedDeveloper, signIn, snap } from "./helpers";

// Account → Provider keys (BYOK, issue 29) in a browser: a developer stores an OpenAI-compatible key for the fake
// upstream (which accepts it once told about it), tests it (the platform calls the provider: active), is told a second
// key for the same provider needs the first deleted, sees only the masked key, turns the platform fallback on, and
// finds it all after a reload (and in the database). Nothing wider than 1280 px; screenshot.

test("a developer stores, tests and sees their provider keys masked", async ({ page }) => {
  test.setTimeout(90_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const password = "provider-keys-password-1";
  const dev = await fundedDeveloper(sql, { prefix: "byok", keyName: "byok app", password });
  const upstream = process.env.E2E_GATEWAY_URL!.replace(/:\d+\/v1$/, ":4111");
  const secret = `byok-e2e-${randomBytes(12).toString("hex")}`;
  await fetch(`${upstream}/byok-keys`, { method: "POST", body: JSON.stringify({ key: secret }) });
  const refusedSecret = `byok-bad-${randomBytes(12).toString("hex")}`;

  await page.setViewportSize({ width: 1280, height: 900 });
  await signIn(page, dev.email, password, "/account/provider-keys");
  await expect(page.getByRole("heading", { name: "Provider keys" })).toBeVisible();
  await expect(page.getByText("No provider keys")).toBeVisible();
  // No plan: the default fee, 5 % of the price-book price.
  await expect(page.getByTestId("byok-fee")).toContainText("5 %");

  await page.getByLabel("Provider").selectOption("openai_compatible");
  await page.getByLabel("Label (optional)").fill("fake upstream");
  await page.getByLabel("API key").fill(secret);
  await page.getByLabel("Base URL").fill(`${upstream}/v1`);
  await page.getByTestId("store-provider-key").click();
  const good = page.getByTestId("provider-key-openai_compatible");
  await expect(good).toContainText(`…${secret.slice(-4)}`);
  await good.getByRole("button", { name: "Test" }).click();
  await expect(good.getByText("active")).toBeVisible();
  await expect(good).not.toContainText("never");

  await page.getByLabel("Provider").selectOption("openai_compatible");
  await page.getByLabel("API key").fill(refusedSecret);
  await page.getByLabel("Base URL").fill(`${upstream}/v1`);
  await page.getByTestId("store-provider-key").click();
  await expect(page.getByText(/already a openai_compatible key/)).toBeVisible();

  await expect(page.getByTestId("byok-fallback-state")).toContainText("refused");
  await page.getByLabel("Use Tollgate's keys when yours is missing or refused").click();
  await expect(page.getByTestId("byok-fallback-state")).toContainText("served with Tollgate's keys");

  await page.reload();
  await expect(page.getByTestId("provider-key-openai_compatible")).toContainText("fake upstream");
  await expect(page.getByTestId("byok-fallback-state")).toContainText("served with Tollgate's keys");
  const html = await page.content();
  expect(html).not.toContain(secret);
  const [stored] = await sql<{ status: string; fallback: boolean }[]>`
    select c.status, a.byok_fallback as fallback from provider_credentials c
    join accounts a on a.owner_user_id = c.user_id where c.user_id = ${dev.userId}`;
  expect(stored).toEqual({ status: "active", fallback: true });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(1280);
  // The row's actions are in view, not scrolled off the table's right edge.
  const card = await page.getByTestId("provider-keys").boundingBox();
  const del = await page
    .getByTestId("provider-key-openai_compatible")
    .getByRole("button", { name: "Delete" })
    .boundingBox();
  expect(del!.x + del!.width).toBeLessThanOrEqual(card!.x + card!.width);
  await snap(page, "provider-keys");

  // A key's edit pins a provider key to it (scope key), shown masked in the dialog.
  const pinned = `byok-pin-${randomBytes(12).toString("hex")}`;
  await page.goto("/account/keys");
  await page.getByTestId("key-row-byok app").getByRole("button", { name: "Edit" }).click();
  const dialog = page.getByTestId("edit-key-dialog");
  const section = dialog.getByTestId("edit-key-provider-keys");
  await expect(section.getByText("This key's provider keys")).toBeVisible();
  await section.getByLabel("Provider").selectOption("anthropic");
  await section.getByLabel("API key").fill(pinned);
  await section.getByTestId("store-provider-key").click();
  await expect(section.getByTestId("provider-key-anthropic")).toContainText(`sk-ant-…${pinned.slice(-4)}`);
  expect(await page.content()).not.toContain(pinned);
  const [pin] = await sql<{ scope: string }[]>`
    select scope from provider_credentials where key_id = ${dev.keyId} and provider = 'anthropic'`;
  expect(pin).toEqual({ scope: "key" });
  const box = await section
    .getByTestId("provider-key-anthropic")
    .getByRole("button", { name: "Delete" })
    .boundingBox();
  const frame = await section.boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(frame!.x + frame!.width);
  await snap(page, "provider-keys-pinned");
  await sql.end();
});
