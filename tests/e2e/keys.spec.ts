import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import { developer, navLink, signedInAs, snap } from "./helpers";

const gateway = () => process.env.E2E_GATEWAY_URL!;

test("a developer creates a key, copies the secret once, uses it, and revoking it shuts the gateway", async ({
  browser,
}) => {
  const context = await browser.newContext();
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  await signedInAs(page, "developer");
  await navLink(page, "My API keys").click();
  await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();

  await page.getByRole("button", { name: "New key" }).click();
  await page.getByLabel("Name").fill("browser-test");
  await page.getByLabel("fake-small").check();
  await page.getByLabel("Requests / min").fill("100");
  await snap(page, "10-create-key-dialog");
  await page.getByRole("button", { name: "Create key" }).click();

  const shown = page.getByTestId("new-key-secret");
  await expect(shown).toHaveText(/^tg_/);
  const secret = (await shown.textContent())!.trim();
  await page.getByRole("button", { name: "Copy key" }).click();
  await expect(page.getByRole("button", { name: "Copied" })).toContainText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await snap(page, "11-key-secret-shown-once");
  await page.getByRole("button", { name: "Done" }).click();

  const row = page.getByTestId("key-row-browser-test");
  await expect(row).toContainText(secret.slice(0, 11));
  await expect(row).toContainText("fake-small");
  // The secret is not on the page any more.
  await expect(page.getByText(secret)).toHaveCount(0);

  // The copied key works against the real gateway, with the official client.
  const client = new OpenAI({ baseURL: gateway(), apiKey: secret, maxRetries: 0 });
  const completion = await client.chat.completions.create({
    model: "fake-small",
    messages: [{ role: "user", content: "hello from the browser test" }],
    max_tokens: 5,
  });
  expect(completion.choices[0]!.message.content!.split(" ")).toHaveLength(5);
  await page.reload();
  await expect(row).not.toContainText("never");
  await snap(page, "12-key-used");

  // Revoke in the page; the gateway refuses the key within its cache TTL.
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("button", { name: "Revoke key" }).click();
  await expect(row).toContainText("revoked");
  await snap(page, "13-key-revoked");
  await expect
    .poll(
      async () => {
        try {
          await client.chat.completions.create({
            model: "fake-small",
            messages: [{ role: "user", content: "x" }],
            max_tokens: 1,
          });
          return 200;
        } catch (error) {
          return error instanceof OpenAI.APIError ? error.status : -1;
        }
      },
      { timeout: 8000, intervals: [250] },
    )
    .toBe(401);
  await context.close();
});

test("admins see every key and the model catalog beside the live gateway", async ({ page }) => {
  await signedInAs(page, "admin");
  await page.getByRole("link", { name: "API keys" }).first().click();
  await expect(page).toHaveURL(/\/admin\/keys/);
  await expect(page.getByText(developer().email).first()).toBeVisible();
  await snap(page, "14-admin-keys");
  await page.getByRole("link", { name: "Models", exact: true }).click();
  await expect(page.getByTestId("live-status")).toContainText("reachable");
  const row = page.getByTestId("model-row-fake-small");
  await expect(row).toContainText("openai/fake-small");
  await expect(page.getByText("Gateway deployments")).toBeVisible();
  await snap(page, "15-admin-models");
});
