import { randomUUID } from "node:crypto";
import { expect, test } from "@playwright/test";
import { displayMicros } from "@/lib/billing/money";
import { settleUsage } from "@/lib/billing/settle";
import { createClient } from "@/lib/db/client";
import { fundedDeveloper, signedInAs, signIn, snap } from "./helpers";

// The BYOK fee's per-request part and BYOK in analytics (issue 29, clause 62) as people see them: a developer on a
// plan charging 5 % + $0.0002 per BYOK call, two of their three calls on fixed April 2026 days served with their own
// provider key, settled as the gateway reports them; then the admin's plans table and Analytics' "Own provider keys
// (BYOK)" section, and the developer's Usage line and Provider keys page. Fixed days in the URL: no test depends on
// today's date. Screenshots at 1280 px.

const DAY1 = "2026-04-20";
const DAY2 = "2026-04-21";

test("the BYOK fee with its per-call part, and BYOK calls in analytics", async ({ browser }) => {
  test.setTimeout(90_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const model = `byok-e2e-${randomUUID().slice(0, 6)}`;
  const [row] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values (${model}, ${model}, 'fake', 16384, 4096) returning id`;
  await sql`
    insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros,
                                output_price_micros)
    values (${row!.id}, '2026-04-01T00:00:00Z', 2000000, 10000000, 3000000, 15000000)`;
  const planName = `byok-e2e-${randomUUID().slice(0, 6)}`;
  const [plan] = await sql<{ id: string }[]>`
    insert into plans (name, byok_fee_bps, byok_fee_request_micros) values (${planName}, 500, 200) returning id`;
  const password = "byok-insight-password-1";
  const dev = await fundedDeveloper(sql, { prefix: "byok", keyName: "own-key app", password });
  await sql`update users set plan_id = ${plan!.id} where id = ${dev.userId}`;
  const calls = [
    { id: "b1", at: `${DAY1}T10:00:00Z`, prompt: 12_345, completion: 6_789, credential: "byok" as const },
    { id: "p1", at: `${DAY1}T11:00:00Z`, prompt: 1_000, completion: 300, credential: "platform" as const },
    { id: "b2", at: `${DAY2}T09:00:00Z`, prompt: 2_000, completion: 500, credential: "byok" as const },
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
        credential: c.credential,
        credentialId: null,
      },
    ]);
  }
  // 12,345 × $3 + 6,789 × $15 per 1M = 138,870 µ$: 5 % is ⌈6,943.5⌉ = 6,944, + 200. 2,000 and 500: 13,500 → 675 + 200.
  const fees = 6_944n + 200n + 675n + 200n;
  const [charged] = await sql<{ micros: bigint }[]>`
    select coalesce(sum(revenue_micros), 0)::bigint as micros from usage_events
    where key_id in (select id from api_keys where user_id = ${dev.userId}) and credential = 'byok'`;
  expect(charged!.micros).toBe(fees);

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(page, "admin");
  const noOverflow = async () =>
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);

  await page.goto("/admin/plans");
  await expect(page.getByTestId(`plan-byok-${planName}`)).toHaveText(`5 % + ${displayMicros(200n)} per call`);
  await noOverflow();
  await page.getByRole("button", { name: `Edit ${planName}` }).click();
  await expect(page.getByLabel("BYOK fee per call (USD)")).toHaveValue("0.0002");
  await snap(page, "byok-01-plan-form");
  await page.keyboard.press("Escape");

  await page.goto(`/admin/analytics?from=${DAY1}&to=${DAY2}&userId=${dev.userId}`);
  const section = page.getByTestId("byok-section");
  await expect(section.getByTestId("byok-calls")).toContainText("2");
  await expect(section.getByTestId("byok-share")).toContainText("66.7%");
  await expect(section.getByTestId("byok-revenue")).toContainText(displayMicros(fees));
  await expect(section.getByTestId("byok-model-row").filter({ hasText: model })).toContainText(
    displayMicros(fees),
  );
  await noOverflow();
  await section.scrollIntoViewIfNeeded();
  await snap(page, "byok-02-analytics");

  const mine = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(mine, dev.email, password, `/account/usage?from=${DAY1}&to=${DAY2}`);
  await expect(mine.getByTestId("byok-line")).toContainText("2 of 3 calls (66.7%)");
  await expect(mine.getByTestId("byok-fees")).toHaveText(displayMicros(fees));
  await snap(mine, "byok-03-my-usage");
  await mine.goto("/account/provider-keys");
  await expect(mine.getByTestId("byok-fee")).toContainText(`5 % + ${displayMicros(200n)} per call`);
  await snap(mine, "byok-04-provider-keys");
  await sql.end();
});
