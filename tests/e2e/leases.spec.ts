import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import { createClient } from "@/lib/db/client";
import { admin, fundedDeveloper, login, snap } from "./helpers";

test("an admin sees a pay-as-you-go key's balance lease: granted, calls charged, reserved, and held split", async ({
  browser,
}) => {
  // A developer on no plan (no daily request count): the gateway serves their key from a lease.
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const { email, accountId, secret } = await fundedDeveloper(sql, { prefix: "lease", keyName: "batch job" });
  await sql.end();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await login(page, admin().email, admin().password);
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
  await expect(row).toContainText(`$0.${String(charged).padStart(6, "0")}`, { timeout: 20_000 });
  await expect(row.locator("td").nth(7)).toHaveText("3");
  // The account's held amount is the lease's reservation, and the card says so.
  await expect(page.getByTestId("held-split")).toContainText("$0.000000 by calls in progress");
  await expect(page.getByTestId("held-split")).toContainText("by gateway leases");
  await snap(page, "37-admin-account-leases");

  await page.goto("/admin/keys");
  await page.getByPlaceholder(/search/i).fill(email);
  await expect(page.getByTestId("key-leased").first()).toContainText("leased");
  await snap(page, "38-admin-keys-leased");
});
