import { expect, test } from "@playwright/test";
import { TEST_CRON_SECRET } from "../stack/start";
import { navLink, signedInAs, snap } from "./helpers";

test("an admin runs the settlement of a day and reads its run", async ({ page }) => {
  await signedInAs(page, "admin");
  await navLink(page, "Settlement").click();
  await expect(page.getByRole("heading", { name: "Settlement" })).toBeVisible();
  const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel("Day to settle").fill(day);
  await page.getByRole("button", { name: "Run settlement" }).click();
  const row = page.getByTestId(`run-row-${day}`);
  await expect(row).toContainText("running");
  // What Vercel cron (or the local ticker) does every minute.
  const drained = await page.request.get("/api/cron/drain", {
    headers: { authorization: `Bearer ${TEST_CRON_SECRET}` },
  });
  expect(drained.status()).toBe(200);
  await expect(row).toContainText("completed", { timeout: 15_000 });
  await expect(page.getByTestId("queue-stats")).toContainText("completed");
  await snap(page, "40-settlement");
});
