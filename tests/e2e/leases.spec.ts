import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import { displayMicros } from "@/lib/billing/money";
import { createClient } from "@/lib/db/client";
import { fundedDeveloper, signedInAs, snap } from "./helpers";

test("an admin sees a pay-as-you-go key's balance lease: granted, calls charged, reserved, and held split", async ({
  browser,
}) => {
  // A developer on no plan (no daily request count): the gateway serves their key from a lease.
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const { email, accountId, secret } = await fundedDeveloper(sql, { prefix: "lease", keyName: "batch job" });
  await sql.end();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(page, "admin");
  const client = new OpenAI({ baseURL: process.env.E2E_GATEWAY_URL, apiKey: secret, maxRetries: 0 });
  let charged = 0;
  for (let i = 0; i < 3; i++) {
    const { usage } = await client.chat.completions.create({
      model: "fake-small",
      messages: [{ role: "user", content: `call ${i}` }],
      max_tokens: 10,
    });
    charged += Math.ceil((usage!.prompt_tokens * 500_000 + usage!.completion_tokens * 1_500_000) / 1_000_000);
  }

  await page.goto(`/admin/accounts/${accountId}`);
  const row = page.getByTestId("lease-row").first();
  // The three calls' events land within a second or so; the table refreshes every 5 s.
  await expect(row).toContainText("open");
  await expect(row).toContainText(displayMicros(charged), { timeout: 20_000 });
  await expect(row.locator(`[data-micros="${charged}"]`)).toHaveCount(1);
  await expect(row.locator("td").nth(7)).toHaveText("3");
  // The account's held amount is the lease's reservation, and the card says so.
  await expect(page.getByTestId("held-split")).toContainText("$0.00 by calls in progress");
  await expect(page.getByTestId("held-split")).toContainText("by gateway leases");
  // Charged today is the three calls only; what the lease still holds is reserved beside it, not spent.
  await page.reload();
  await expect(page.getByTestId("day-charged")).toHaveText(displayMicros(charged));
  await expect(page.getByTestId("day-charged").locator("[data-micros]")).toHaveAttribute(
    "data-micros",
    String(charged),
  );
  await expect(page.getByTestId("day-reserved")).toContainText("reserved");
  await snap(page, "37-admin-account-leases");

  await page.goto("/admin/keys");
  await page.getByPlaceholder(/search/i).fill(email);
  // The key's charges today are the three calls; what its lease holds is said apart, as reserved.
  await expect(page.getByTestId("key-spend").first()).toContainText(
    `charged ${displayMicros(charged)} today`,
  );
  await expect(page.getByTestId("key-leased").first()).toContainText("reserved (gateway lease)");
  await snap(page, "38-admin-keys-leased");
});
