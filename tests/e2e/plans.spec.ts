import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import { developer, navLink, signedInAs, snap } from "./helpers";

test("an admin sees the tiers, moves a developer to Free; the developer's page and the gateway follow", async ({
  browser,
}) => {
  const adminPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(adminPage, "admin");
  await navLink(adminPage, "Plans").click();
  for (const name of ["Free", "Personal", "Professional", "Business"])
    await expect(adminPage.getByTestId(`plan-row-${name}`)).toBeVisible();
  await expect(adminPage.getByTestId("plan-row-Free")).toContainText("10");
  await expect(adminPage.getByTestId("plan-row-Business")).toContainText("unlimited");
  await snap(adminPage, "50-plans");

  // Move the demo developer to Free from the users table.
  // The table is paged and other specs add users: find the developer by email.
  await navLink(adminPage, "Users").click();
  await adminPage.getByRole("textbox", { name: "Search users" }).fill(developer().email);
  const row = adminPage.getByTestId(`user-row-${developer().email}`);
  await row.getByRole("combobox", { name: `Plan of ${developer().email}` }).click();
  await adminPage.getByRole("option", { name: "Free" }).click();
  await expect(row).toContainText("Free");
  await snap(adminPage, "51-user-plan");

  const dev = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(dev, "developer");
  await navLink(dev, "Balance & usage").click();
  await expect(dev.getByTestId("plan")).toHaveText("Free");
  const used = Number((await dev.getByTestId("plan-requests").textContent())!.split(" ")[0]);
  expect(used).toBeGreaterThanOrEqual(0);
  await expect(dev.getByTestId("plan-requests")).toContainText("of 10 requests today (UTC)");
  await snap(dev, "52-developer-plan");

  // The gateway follows within its auth cache TTL: the key (no limits of its own) now has Free's RPM of 5 and
  // its 10 requests a day, whichever runs out first.
  const client = new OpenAI({
    baseURL: process.env.E2E_GATEWAY_URL,
    apiKey: process.env.E2E_DEV_KEY!,
    maxRetries: 0,
  });
  const messages = [{ role: "user" as const, content: "plans" }];
  let refusal = "";
  for (let i = 0; i < 12 && !refusal; i++) {
    try {
      await client.chat.completions.create({ model: "fake-small", messages, max_tokens: 3 });
    } catch (error) {
      expect((error as { status?: number }).status).toBe(429);
      refusal = String(error);
    }
  }
  expect(refusal).toMatch(/Free plan allows 10 requests per day|Current limit: 5\b/);

  // Back to Professional, so the other specs keep their allowance.
  await row.getByRole("combobox", { name: `Plan of ${developer().email}` }).click();
  await adminPage.getByRole("option", { name: "Professional" }).click();
  await expect(row).toContainText("Professional");
});
