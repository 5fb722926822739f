import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import { displayMicros, exactTitle } from "@/lib/billing/money";
import { developer, navLink, signedInAs, snap } from "./helpers";

test("a developer's call is charged and shown; an admin adds funds and reads the ledger", async ({
  browser,
}) => {
  const dev = await browser.newPage();
  await signedInAs(dev, "developer");
  await navLink(dev, "Balance & usage").click();
  await expect(dev.getByTestId("balance")).toBeVisible();
  // Other specs share this stack: work from the figures as they are now.
  const account = (await (await dev.request.get("/api/v1/account")).json()).account;
  const callsBefore = (await (await dev.request.get(`/api/v1/accounts/${account.id}/usage`)).json()).total;
  const balanceBefore: number = account.balanceMicros;

  // A call through the gateway with the seeded key.
  const client = new OpenAI({
    baseURL: process.env.E2E_GATEWAY_URL,
    apiKey: process.env.E2E_DEV_KEY!,
    maxRetries: 0,
  });
  const completion = await client.chat.completions.create({
    model: "fake-small",
    messages: [{ role: "user", content: "charge me" }],
    max_tokens: 20,
  });
  const usage = completion.usage!;
  // fake-small sells at $0.50 / $1.50 per million tokens, rounded up once to the micro-dollar.
  const charged = Math.ceil(
    (usage.prompt_tokens * 500_000 + usage.completion_tokens * 1_500_000) / 1_000_000,
  );
  // The usage webhook lands within a second or so; then the page shows the call.
  await expect
    .poll(async () => (await (await dev.request.get(`/api/v1/accounts/${account.id}/usage`)).json()).total, {
      timeout: 15_000,
    })
    .toBe(callsBefore + 1);
  await dev.reload();
  await expect(dev.getByTestId("usage-row")).toHaveCount(Math.min(20, callsBefore + 1));
  const row = dev.getByTestId("usage-row").first();
  await expect(row).toContainText("fake-small");
  await expect(row).toContainText(`${usage.prompt_tokens} → ${usage.completion_tokens} tokens`);
  await expect(row).toContainText("exact");
  // Shown in the page's format ("$0.000047"), exact to the micro-dollar on hover.
  await expect(row).toContainText(displayMicros(charged));
  await expect(row.locator(`[data-micros="${charged}"]`).first()).toHaveAttribute(
    "title",
    exactTitle(charged),
  );
  const ledgerTop = dev.getByTestId("ledger-row").first();
  await expect(ledgerTop).toContainText(displayMicros(balanceBefore - charged));
  await expect(ledgerTop.locator(`[data-micros="${balanceBefore - charged}"]`)).toHaveCount(1);
  await snap(dev, "30-developer-billing");

  // The admin adds $10 with a reason.
  const adm = await browser.newPage();
  await signedInAs(adm, "admin");
  await navLink(adm, "Accounts").click();
  // The overview the admin lands on links the same email (its top users): click it on the accounts page only.
  await expect(adm).toHaveURL(/\/admin\/accounts$/);
  await adm.getByRole("link", { name: developer().email }).click();
  await expect(adm).toHaveURL(/\/admin\/accounts\/[^/?#]+$/);
  await adm.getByRole("button", { name: "Add funds" }).click();
  await adm.getByLabel("Amount (USD)").fill("10");
  await adm.getByLabel("Reason").fill("Invoice 2026-001");
  await snap(adm, "31-admin-add-funds");
  await adm.getByRole("button", { name: "Add funds" }).last().click();
  const top = adm.getByTestId("ledger-row").first();
  await expect(top).toContainText("Invoice 2026-001");
  await expect(top).toContainText("+$10.00");
  await expect(top).toContainText(displayMicros(balanceBefore + 10_000_000 - charged));
  await expect(top.locator(`[data-micros="${balanceBefore + 10_000_000 - charged}"]`)).toHaveCount(1);
  await snap(adm, "32-admin-account-ledger");

  await navLink(adm, "Price book").click();
  await expect(adm.getByTestId("price-row-fake-small")).toContainText("40.0%");
  await snap(adm, "33-price-book");

  // The margin over 30 days of every fake-small call on the platform (other specs call it at the same time): what the
  // row shows is its own revenue less its own cost, as a share of revenue, to the tenth of a percent.
  await navLink(adm, "Usage & margins").click();
  const margin = adm.getByTestId("margin-row-fake-small");
  await expect(margin).toBeVisible();
  const [revenue, cost] = (await margin
    .locator("[data-micros]")
    .evaluateAll((cells) => cells.map((c) => Number(c.getAttribute("data-micros"))))) as [number, number];
  expect(revenue).toBeGreaterThan(cost);
  await expect(margin).toContainText(`${(((revenue - cost) / revenue) * 100).toFixed(1)}%`);
  await snap(adm, "34-usage-margins");
});
