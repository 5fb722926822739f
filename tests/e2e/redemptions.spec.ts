import { expect, test } from "@playwright/test";
import { displayMicros, exactTitle } from "@/lib/billing/money";
import { createClient } from "@/lib/db/client";
import { navLink, signedInAs, snap } from "./helpers";

test("an admin hands out codes; a developer redeems one and sees the balance rise by exactly its amount", async ({
  browser,
}) => {
  const adminPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(adminPage, "admin");
  await navLink(adminPage, "Redemption codes").click();
  await adminPage.getByRole("button", { name: "New batch" }).click();
  await adminPage.getByLabel("Amount each (USD)").fill("1.25");
  await adminPage.getByLabel("How many codes").fill("2");
  const note = `e2e-promo-${Date.now()}`;
  await adminPage.getByLabel("Note").fill(note);
  await adminPage.getByRole("button", { name: "Create codes" }).click();
  const shown = adminPage.getByTestId("new-codes");
  await expect(shown).toContainText("TG-");
  const codes = (await shown.textContent())!.trim().split("\n");
  expect(codes).toHaveLength(2);
  await snap(adminPage, "53-codes-created");
  await adminPage.getByRole("button", { name: "Done" }).click();
  await expect(adminPage.getByTestId(`batch-${note}`)).toContainText("0 / 2");

  const dev = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(dev, "developer");
  await navLink(dev, "Balance & usage").click();
  await expect(dev.getByTestId("balance")).toBeVisible();
  const before: number = (await (await dev.request.get("/api/v1/account")).json()).account.balanceMicros;
  await dev.getByLabel("Redemption code").fill(codes[0]!);
  await dev.getByRole("button", { name: "Redeem" }).click();
  await expect(dev.getByText("$1.25 added to your balance")).toBeVisible();
  // The balance in the page's format, exact to the micro-dollar on hover.
  await expect(dev.getByTestId("balance")).toHaveText(displayMicros(before + 1_250_000));
  await expect(dev.getByTestId("balance").locator("[data-micros]")).toHaveAttribute(
    "title",
    exactTitle(before + 1_250_000),
  );
  const after: number = (await (await dev.request.get("/api/v1/account")).json()).account.balanceMicros;
  expect(after - before).toBe(1_250_000);
  await snap(dev, "54-code-redeemed");

  // The same code again: refused, nothing credited.
  await dev.getByLabel("Redemption code").fill(codes[0]!);
  await dev.getByRole("button", { name: "Redeem" }).click();
  await expect(dev.getByTestId("redeem-error")).toContainText(
    "not valid, has expired or has already been used",
  );
  // Guessing: after a few wrong codes even the right one is refused for a while.
  for (let i = 0; i < 5; i++) {
    await dev.getByLabel("Redemption code").fill(`TG-GUES-S${i}00-0000-0000`);
    await dev.getByRole("button", { name: "Redeem" }).click();
    await expect(dev.getByTestId("redeem-error")).toBeVisible();
  }
  await dev.getByLabel("Redemption code").fill(codes[1]!);
  await dev.getByRole("button", { name: "Redeem" }).click();
  await expect(dev.getByTestId("redeem-error")).toContainText("Too many invalid codes");
  await snap(dev, "55-code-guessing-throttled");
  const final: number = (await (await dev.request.get("/api/v1/account")).json()).account.balanceMicros;
  expect(final).toBe(after);

  await adminPage.reload();
  await expect(adminPage.getByTestId(`batch-${note}`)).toContainText("1 / 2");
});

test("the payments page says when card top-ups are off and saves the top-up settings; developers see the same", async ({
  browser,
}) => {
  const adminPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(adminPage, "admin");
  await navLink(adminPage, "Payments").click();
  await expect(adminPage.getByText("Card top-ups are off")).toBeVisible();
  await adminPage.getByLabel("Minimum top-up").fill("10.00");
  await adminPage.getByLabel("Preset amounts").fill("10.00, 20.00");
  await adminPage.getByRole("button", { name: "Save" }).click();
  await expect(adminPage.getByText("Now: $10.00 to")).toBeVisible();
  // The list shows what the platform holds: other specs may have paid by card already (one page of 50 at most).
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const [paid] = await sql<{ n: number }[]>`select count(*)::int as n from payments`;
  await sql.end();
  if (paid!.n === 0) await expect(adminPage.getByText("No card payments yet.")).toBeVisible();
  else await expect(adminPage.getByTestId("payment-row")).toHaveCount(Math.min(paid!.n, 50));
  await snap(adminPage, "56-payments-admin");
  // Presets outside the bounds are refused with the field named.
  await adminPage.getByLabel("Preset amounts").fill("1.00");
  await adminPage.getByRole("button", { name: "Save" }).click();
  await expect(adminPage.getByText("between the minimum and the maximum")).toBeVisible();

  const dev = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(dev, "developer");
  await navLink(dev, "Balance & usage").click();
  await expect(dev.getByText("Top-ups by card are off on this deployment")).toBeVisible();
  await snap(dev, "57-add-funds-off");
});
