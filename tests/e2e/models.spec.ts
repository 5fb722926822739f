// Add a model and sell it: an admin adds a model group the gateway serves but the catalog did not list (fake-flaky:
// its first two attempts per prompt fail upstream, the router's retries serve it), prices it in the price book, a
// developer's key calls it through the gateway with the `openai` SDK, the call is charged exactly the price, and the
// developer's page for the model shows the call.
import { type Browser, expect, type Page, test } from "@playwright/test";
import OpenAI from "openai";
import { displayMicros } from "@/lib/billing/money";
import { createClient } from "@/lib/db/client";
import { fundedDeveloper, seriousViolations, signedInAs, signIn, snap } from "./helpers";

const GROUP = "fake-flaky";

/** A page in a context of its own (axe needs one), at a viewport. */
async function openPage(browser: Browser, width: number, height: number) {
  const context = await browser.newContext({ viewport: { width, height } });
  return context.newPage();
}

/** The page is no wider than its viewport (nothing pushes it sideways). */
async function fitsViewport(page: Page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(scroll).toBeLessThanOrEqual(client);
  // And no table is wider than its card (a clipped cell would scroll inside it).
  const wide = await page.evaluate(() =>
    [...document.querySelectorAll("[data-slot=table-container]")]
      .filter((t) => t.scrollWidth > t.clientWidth)
      .map((t) => `${t.scrollWidth - t.clientWidth}px: ${(t.textContent ?? "").slice(0, 80)}`),
  );
  // Each table that scrolls sideways, by how much and what it starts with.
  expect(wide).toEqual([]);
}

test("an admin adds a model the gateway serves, prices it, and a developer's call is charged exactly its price", async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  expect(await sql`select 1 from models where public_name = ${GROUP}`).toHaveLength(0);

  // Admin → Models: the catalog fits 1280 px, and limits show only where they mean something.
  const adm = await openPage(browser, 1280, 800);
  await signedInAs(adm, "admin", "/admin/models");
  await expect(adm.getByTestId("live-status")).toContainText("reachable");
  await expect(adm.getByTestId("model-row-fake-small").getByTestId("max-output")).toHaveText("4,096");
  // An embedding, image or speech model answers in no tokens: no "Max output 1".
  for (const name of ["fake-embed", "fake-image", "fake-tts", "fake-whisper"]) {
    await expect(adm.getByTestId(`model-row-${name}`).getByTestId("max-output")).toHaveText("—");
  }
  await fitsViewport(adm);
  expect(await seriousViolations(adm, { include: "main" })).toEqual([]);
  await snap(adm, "models-01-admin-catalog-1280");

  // Add model: the groups the gateway serves, those already sold greyed out.
  await adm.getByRole("button", { name: "Add model" }).click();
  const dialog = adm.getByRole("dialog");
  const group = dialog.getByLabel("LiteLLM model group");
  await expect(group.locator("option", { hasText: "fake-small (in the catalog)" })).toBeDisabled();
  await group.selectOption(GROUP);
  await expect(dialog.getByTestId("model-group-info")).toContainText("openai/fake-flaky");
  await expect(dialog.getByLabel("Provider")).toHaveValue("openai");
  await dialog.getByLabel("Context window (tokens)").fill("16384");
  await dialog.getByLabel("Max output (tokens)").fill("4096");
  await dialog.getByLabel("Description (developers read it)").fill("Retried upstream, billed once");
  expect(await seriousViolations(adm, { include: "[role=dialog]" })).toEqual([]);
  await snap(adm, "models-02-add-dialog");
  await dialog.getByRole("button", { name: "Add model" }).click();
  await expect(dialog.getByTestId("model-added")).toContainText(`${GROUP} is in the catalog`);
  const [added] = await sql<{ id: string; max_output_tokens: number }[]>`
    select id, max_output_tokens from models where public_name = ${GROUP} and litellm_model_group = ${GROUP}`;
  expect(added!.max_output_tokens).toBe(4096);
  const [audit] = await sql<
    { action: string }[]
  >`select action from audit_log where target_id = ${added!.id}`;
  expect(audit!.action).toBe("model.create");

  // Its price, in the price book: $2.00 in / $4.00 out per million tokens (cost $1.00 / $2.00).
  await dialog.getByRole("link", { name: "Set its price" }).click();
  await expect(adm).toHaveURL(/\/admin\/prices/);
  await adm.getByRole("button", { name: "New price version" }).click();
  const price = adm.getByRole("dialog");
  await price.getByLabel("Model", { exact: true }).selectOption({ label: GROUP });
  await price.getByLabel("Input tokens, provider cost per 1M tokens").fill("1");
  await price.getByLabel("Input tokens, sell price per 1M tokens").fill("2");
  await price.getByLabel("Output tokens, provider cost per 1M tokens").fill("2");
  await price.getByLabel("Output tokens, sell price per 1M tokens").fill("4");
  await price.getByRole("button", { name: "Add version" }).click();
  await expect(price).toBeHidden();
  await expect
    .poll(async () => (await sql`select 1 from price_versions where model_id = ${added!.id}`).length)
    .toBe(1);

  // Back in the catalog the model is served for text calls and reaches the gateway.
  await adm.goto("/admin/models");
  const row = adm.getByTestId(`model-row-${GROUP}`);
  await expect(row).toContainText("Text");
  await expect(row).toContainText("openai/fake-flaky");
  await expect(row.getByTestId("max-output")).toHaveText("4,096");
  await fitsViewport(adm);

  // A developer's key calls it through the gateway.
  const password = "models-spec-password-1";
  const dev = await fundedDeveloper(sql, { prefix: "models", keyName: "flaky app", password });
  const client = new OpenAI({ baseURL: process.env.E2E_GATEWAY_URL, apiKey: dev.secret, maxRetries: 0 });
  const completion = await client.chat.completions.create({
    model: GROUP,
    messages: [{ role: "user", content: `sell me ${dev.keyId}` }],
    max_tokens: 24,
  });
  const usage = completion.usage!;
  expect(usage.prompt_tokens).toBeGreaterThan(0);
  // $2 and $4 per million: 2 µ$ per input token, 4 per output token, exact (no rounding left over).
  const charged = usage.prompt_tokens * 2 + usage.completion_tokens * 4;
  await expect
    .poll(
      async () =>
        (
          await sql<{ revenue: string }[]>`
            select revenue_micros::text as revenue from usage_events
            where key_id = ${dev.keyId} and model_group = ${GROUP} and status = 'success'`
        ).map((r) => Number(r.revenue)),
      { timeout: 20_000 },
    )
    .toEqual([charged]);

  // The developer finds the model under Models & prices and its page shows the call and its charge.
  const page = await openPage(browser, 1280, 800);
  await signIn(page, dev.email, password, "/account/models");
  // Limits only where they mean something: an embedding model has a window and no max output.
  await expect(page.getByTestId("model-price-fake-embed")).toContainText("8,192 · —");
  await expect(page.getByTestId(`model-price-${GROUP}`)).toContainText("16,384 · 4,096");
  await snap(page, "models-08-models-and-prices");
  await page.getByRole("link", { name: GROUP, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/account/models/${added!.id}$`));
  await expect(page.getByRole("heading", { level: 1, name: GROUP })).toBeVisible();
  await expect(page.getByTestId("model-price")).toContainText("input $2.00 / 1M tokens");
  await expect(page.getByTestId("model-price")).toContainText("output $4.00 / 1M tokens");
  await expect(page.locator("main")).not.toContainText("$1.00"); // its provider cost is the admin's alone
  await expect(page.getByTestId("model-max-output")).toHaveText("4,096 tokens");
  await expect(page.getByTestId("snippet-curl")).toContainText(`"model":"${GROUP}"`);
  await expect(page.getByTestId("snippet-curl")).toContainText("$TOLLGATE_API_KEY");
  await expect(page.getByTestId("model-usage-calls")).toHaveText("1");
  const call = page.getByTestId("model-call");
  await expect(call).toHaveCount(1);
  await expect(call.locator("[data-micros]")).toHaveAttribute("data-micros", String(charged));
  await expect(call).toContainText(displayMicros(BigInt(charged)));
  await expect(page.getByTestId("model-usage-charged")).toHaveAttribute("data-micros", String(charged));
  await fitsViewport(page);
  expect(await seriousViolations(page, { include: "main" })).toEqual([]);
  await snap(page, "models-03-developer-model-page-1280");

  // On a phone both pages stay within the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await expect(page.getByTestId("model-usage-calls")).toHaveText("1");
  await fitsViewport(page);
  expect(await seriousViolations(page, { include: "main" })).toEqual([]);
  await snap(page, "models-04-developer-model-page-390");
  await adm.setViewportSize({ width: 390, height: 844 });
  await adm.reload();
  await expect(adm.getByTestId(`model-row-${GROUP}`)).toBeVisible();
  await fitsViewport(adm);
  expect(await seriousViolations(adm, { include: "main" })).toEqual([]);
  await snap(adm, "models-05-admin-catalog-390");

  // The embedding model's page for developers shows no max output either.
  const [embed] = await sql<{ id: string }[]>`select id from models where public_name = 'fake-embed'`;
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`/account/models/${embed!.id}`);
  await expect(page.getByTestId("model-endpoints")).toContainText("POST /v1/embeddings");
  await expect(page.getByTestId("model-endpoints")).not.toContainText("chat");
  await expect(page.getByTestId("model-max-output")).toHaveCount(0);
  await expect(page.getByTestId("snippet-curl")).toContainText("/embeddings");
  await page.context().close();
  await adm.context().close();
  await sql.end();
});

test("an admin edits a model: the catalog and the developer's page show the change", async ({ browser }) => {
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  // A group no other spec sells, listed here unpriced, so editing it changes nothing another spec counts on.
  const [model] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, description, context_window, max_output_tokens)
    values ('fake-pair', 'fake-pair', 'openai', 'Two deployments', 16384, 4096)
    on conflict (public_name) do update set max_output_tokens = 4096 returning id`;
  const adm = await openPage(browser, 1280, 800);
  await signedInAs(adm, "admin", "/admin/models");
  await expect(adm.getByTestId("model-row-fake-pair")).toContainText("no price: refused");
  await adm.getByRole("button", { name: "Edit fake-pair" }).click();
  const dialog = adm.getByRole("dialog");
  await expect(dialog.getByLabel("Max output (tokens)")).toHaveValue("4096");
  await dialog.getByLabel("Description (developers read it)").fill("One dead and one live deployment");
  await dialog.getByLabel("Max output (tokens)").fill("200000");
  await expect(dialog.getByText("at most the context window")).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Save" })).toBeDisabled();
  await dialog.getByLabel("Max output (tokens)").fill("8192");
  await snap(adm, "models-06-edit-dialog");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog).toBeHidden();
  await expect(adm.getByTestId("model-row-fake-pair").getByTestId("max-output")).toHaveText("8,192");
  await adm.getByRole("button", { name: "Show details of fake-pair" }).click();
  await expect(adm.getByTestId("model-details-fake-pair")).toContainText("One dead and one live deployment");
  await expect(adm.getByTestId("model-details-fake-pair")).toContainText("openai/fake-dead");
  await snap(adm, "models-07-admin-details");
  const [after] = await sql<{ max_output_tokens: number; description: string }[]>`
    select max_output_tokens, description from models where id = ${model!.id}`;
  expect(after).toEqual({ max_output_tokens: 8192, description: "One dead and one live deployment" });
  const [audit] = await sql<{ n: number }[]>`
    select count(*)::int as n from audit_log where target_id = ${model!.id} and action = 'model.update'`;
  expect(audit!.n).toBe(1);
  await adm.goto(`/account/models/${model!.id}`);
  await expect(adm.getByText("One dead and one live deployment")).toBeVisible();
  await expect(adm.getByTestId("model-max-output")).toHaveText("8,192 tokens");
  await expect(adm.getByTestId("model-price")).toContainText("not priced yet");
  // Out of the catalog again: other specs' runs start from the seeded catalog.
  await sql`delete from models where id = ${model!.id}`;
  await adm.context().close();
  await sql.end();
});
