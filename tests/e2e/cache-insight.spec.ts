import { randomUUID } from "node:crypto";
import { expect, test } from "@playwright/test";
import { displayMicros } from "@/lib/billing/money";
import { settleUsage } from "@/lib/billing/settle";
import { createClient } from "@/lib/db/client";
import { fundedDeveloper, signedInAs, signIn, snap } from "./helpers";

// The response cache and guardrails as an admin sees them: a developer's calls on fixed March 2026 days (hits of a
// model whose cache-hit price is 10 %, masked PII, safety scores either side of the flag line), settled as the
// gateway reports them, then the admin Analytics page's Response cache section and the request log's badges and
// filters. Fixed days in the URL, so nothing depends on today's date; screenshots at 1280 px.

const DAY1 = "2026-03-10";
const DAY2 = "2026-03-11";

test("the Response cache section and the request log's cache, PII and safety signals", async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const model = `cache-e2e-${randomUUID().slice(0, 6)}`;
  const [row] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values (${model}, ${model}, 'fake', 16384, 4096) returning id`;
  await sql`
    insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros,
                                output_price_micros, cache_hit_bps)
    values (${row!.id}, '2026-03-01T00:00:00Z', 2000000, 10000000, 3000000, 15000000, 1000)`;
  const password = "cache-insight-password-1";
  const dev = await fundedDeveloper(sql, { prefix: "cache", keyName: "cached app", password });
  const calls = [
    { id: "h1", at: `${DAY1}T10:00:00Z`, prompt: 1000, completion: 300, cacheHit: true, safetyScore: 5 },
    { id: "h2", at: `${DAY1}T11:00:00Z`, prompt: 2000, completion: 500, cacheHit: true, safetyScore: null },
    {
      id: "m1",
      at: `${DAY1}T12:00:00Z`,
      prompt: 800,
      completion: 200,
      piiMasked: { email: 2, card: 1 },
      safetyScore: 82,
    },
    { id: "h3", at: `${DAY2}T09:00:00Z`, prompt: 500, completion: 100, cacheHit: true, safetyScore: 30 },
    { id: "m2", at: `${DAY2}T10:00:00Z`, prompt: 400, completion: 100, piiMasked: { phone: 1 } },
  ];
  for (const c of calls) {
    const ended = new Date(Date.parse(c.at) + 400).toISOString();
    await settleUsage(sql, [
      {
        callId: `${dev.keyId.slice(0, 8)}-${c.id}`,
        keyId: dev.keyId,
        modelGroup: model,
        providerModel: `openai/${model}`,
        status: "success",
        stream: false,
        promptTokens: c.prompt,
        completionTokens: c.completion,
        cachedTokens: 0,
        reportedCostMicros: 0,
        startedAt: c.at,
        endedAt: ended,
        errorClass: null,
        cacheHit: c.cacheHit ?? false,
        piiMasked: c.piiMasked ?? {},
        safetyScore: c.safetyScore ?? null,
      },
    ]);
  }
  const [saved] = await sql<{ micros: bigint }[]>`
    select coalesce(sum(cache_saved_micros), 0)::bigint as micros from usage_events where key_id in (select id from api_keys where user_id = ${dev.userId})`;
  expect(saved!.micros).toBeGreaterThan(0n);

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(page, "admin");
  const noOverflow = async () =>
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);

  // Analytics, this developer's calls on the two days: 3 hits of 5, the money saved, per model, account and day.
  await page.goto(`/admin/analytics?from=${DAY1}&to=${DAY2}&userId=${dev.userId}`);
  const section = page.getByTestId("cache-section");
  await expect(section.getByTestId("cache-hits")).toContainText("3");
  await expect(section.getByTestId("cache-hit-rate")).toContainText("60.0%");
  await expect(section.getByTestId("cache-saved-total")).toContainText(displayMicros(saved!.micros));
  await expect(section.getByTestId("cache-model-row").filter({ hasText: model })).toContainText(
    displayMicros(saved!.micros),
  );
  await expect(section.getByTestId("cache-account-row").filter({ hasText: dev.email })).toContainText(
    "60.0%",
  );
  await expect(section.getByTestId("cache-chart")).toBeVisible();
  await noOverflow();
  await section.scrollIntoViewIfNeeded();
  await snap(page, "cache-01-analytics");

  // The request log: badges on hits, masked PII and a flagged safety score; the cache filter narrows to the hits.
  await page.goto(`/admin/requests?from=${DAY1}&to=${DAY2}&userId=${dev.userId}`);
  await expect(page.getByTestId("request-row")).toHaveCount(5);
  await expect(page.getByTestId("cache-badge")).toHaveCount(3);
  await expect(page.getByTestId("pii-masked").first()).toBeVisible();
  await expect(page.getByText("email ×2, card ×1")).toBeVisible();
  await expect(page.getByTestId("safety-badge").filter({ hasText: "flagged 82" })).toBeVisible();
  await noOverflow();
  await snap(page, "cache-02-request-log");
  await page.getByLabel("Response cache").selectOption("true");
  await expect(page).toHaveURL(/cacheHit=true/);
  await expect(page.getByTestId("request-row")).toHaveCount(3);
  await page.getByLabel("Response cache").selectOption("");
  await expect(page).not.toHaveURL(/cacheHit=/);
  await expect(page.getByTestId("request-row")).toHaveCount(5);
  await page.getByLabel("Safety score").selectOption("50");
  await expect(page).toHaveURL(/minSafetyScore=50/);
  await expect(page.getByTestId("request-row")).toHaveCount(1);
  await noOverflow();
  await snap(page, "cache-03-request-log-flagged");
  await page.getByTestId("request-row").first().click();
  await expect(page.getByTestId("request-drawer")).toContainText("email ×2, card ×1");
  await snap(page, "cache-04-drawer");
  await page.keyboard.press("Escape");

  // The price book: the version's cache-hit price, and the form's percentage with its presets.
  await page.goto("/admin/prices");
  await expect(page.getByTestId(`price-row-${model}`).getByTestId("price-cache-hit")).toHaveText("10 %");
  await page.getByRole("button", { name: "New price version" }).click();
  await page.getByRole("button", { name: "10 %", exact: true }).click();
  await expect(page.getByLabel("Cache-hit price (% of the call's price)")).toHaveValue("10");
  await snap(page, "cache-05-price-form");

  // The developer: their own hits and savings on their usage page, and the model's cache-hit price on its page.
  const mine = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(mine, dev.email, password, `/account/usage?from=${DAY1}&to=${DAY2}`);
  await expect(mine.getByTestId("cache-line")).toContainText("3 of 5 calls (60.0%)");
  await expect(mine.getByTestId("cache-saved")).toHaveText(displayMicros(saved!.micros));
  await snap(mine, "cache-06-my-usage");
  await mine.goto(`/account/models/${row!.id}`);
  await expect(mine.getByTestId("model-cache-hit-price")).toHaveText(
    "Answers from the response cache: 10 % of the price",
  );
  await snap(mine, "cache-07-model-page");
  await sql.end();
});
