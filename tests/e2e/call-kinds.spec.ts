import { expect, test } from "@playwright/test";
import OpenAI, { toFile } from "openai";
import { displayMicros } from "@/lib/billing/money";
import { createClient } from "@/lib/db/client";
import { wav } from "../helpers/audio";
import { fundedDeveloper, navLink, signedInAs, snap } from "./helpers";

// Every kind of call an app makes through the real gateway (chat, legacy completion, embeddings, image, speech,
// transcription) shows up for the admin: the analytics breakdown by call kind with what each was billed by and its
// revenue, cost and margin; the request log filtered to one kind; the price book with each model's units, and its
// form pricing images by size and quality.

test("the admin sees each kind of call, what it was billed by and its margin", async ({ browser }) => {
  test.setTimeout(120_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const dev = await fundedDeveloper(sql, { prefix: "kinds", keyName: "multimodal app" });
  const client = new OpenAI({ baseURL: process.env.E2E_GATEWAY_URL, apiKey: dev.secret, maxRetries: 0 });
  await client.chat.completions.create({
    model: "fake-small",
    messages: [{ role: "user", content: "hello" }],
    max_tokens: 8,
  });
  await client.completions.create({ model: "fake-instruct", prompt: "Once upon a time", max_tokens: 8 });
  await client.embeddings.create({ model: "fake-embed", input: ["one text", "another text"] });
  await client.images.generate({
    model: "fake-image",
    prompt: "a lighthouse",
    n: 2,
    size: "1792x1024",
    quality: "hd",
  });
  await client.audio.speech.create({ model: "fake-tts", voice: "alloy", input: "Hello from the gateway." });
  await client.audio.transcriptions.create({
    model: "fake-whisper",
    file: await toFile(wav(3), "memo.wav", { type: "audio/wav" }),
  });
  await expect
    .poll(
      async () =>
        (
          await sql`select count(*)::int as n from usage_events where key_id in (select id from api_keys where user_id = ${dev.userId})`
        )[0]!.n,
      { timeout: 20_000 },
    )
    .toBe(6);
  const byKind = await sql<{ kind: string; revenue: bigint }[]>`
    select kind, sum(revenue_micros)::bigint as revenue from usage_events where key_id in (select id from api_keys where user_id = ${dev.userId})
    group by kind order by kind`;
  expect(byKind.map((r) => r.kind)).toEqual([
    "chat",
    "completion",
    "embedding",
    "image",
    "speech",
    "transcription",
  ]);

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

  // Analytics grouped by call kind, this developer's calls: a row per kind with its units and money.
  await signedInAs(page, "admin", `/admin/analytics?userId=${dev.userId}&by=kind`);
  await expect(page.getByText("By call kind")).toBeVisible();
  const rows = page.getByTestId("breakdown-row");
  await expect(rows).toHaveCount(6);
  const row = (kind: string) => rows.filter({ hasText: new RegExp(`^${kind}`) });
  await expect(row("image")).toContainText("2 images");
  await expect(row("transcription")).toContainText("3 s audio");
  await expect(row("speech")).toContainText("23 characters");
  for (const { kind, revenue } of byKind) await expect(row(kind)).toContainText(displayMicros(revenue));
  await snap(page, "70-analytics-by-kind");

  // The request log filtered to images: one call, billed by its two wide HD images at $0.12 each (the demo's rate
  // for that size and quality, three times its default $0.04).
  await page.goto(`/admin/requests?userId=${dev.userId}&kind=image`);
  const calls = page.getByTestId("request-row");
  await expect(calls).toHaveCount(1);
  await expect(calls.first()).toContainText("2 images");
  await expect(calls.first()).toContainText("$0.24");
  await expect(calls.first().locator('[data-micros="240000"]')).toHaveCount(1);
  await calls.first().click();
  await expect(page.getByRole("dialog")).toContainText("2 images (1792x1024 hd)");
  await expect(page.getByRole("dialog")).toContainText("image $0.12 / image");
  await snap(page, "71-request-image");
  await page.keyboard.press("Escape");

  // The price book: each model's units beside its token prices, and the form that prices them.
  await page.goto("/admin/prices");
  await expect(page.getByTestId("price-row-fake-image")).toContainText("image $0.04 / image");
  // An image model is shown by what it is sold by, never as token prices of zero.
  await expect(page.getByTestId("price-row-fake-image")).not.toContainText("1M tokens");
  await expect(page.getByTestId("price-row-fake-whisper")).toContainText("/ second");
  await expect(page.getByTestId("price-row-fake-cache")).toContainText("cache write $3.75 / 1M tokens");
  await snap(page, "72-price-book-units");
  await expect(page.getByTestId("price-row-fake-image")).toContainText("image 1792x1024 hd $0.12 / image");
  await page.getByRole("button", { name: "New price version" }).click();
  await expect(page.getByLabel("Image, sell price per image")).toBeVisible();

  // A scheduled version of fake-image with its own rate for square HD images, through the form.
  const form = page.getByRole("dialog");
  await form.getByLabel("Model").selectOption({ label: "fake-image" });
  for (const [label, value] of [
    ["Input tokens, provider cost per 1M tokens", "0"],
    ["Input tokens, sell price per 1M tokens", "0"],
    ["Output tokens, provider cost per 1M tokens", "0"],
    ["Output tokens, sell price per 1M tokens", "0"],
    ["Image, provider cost per image", "0.02"],
    ["Image, sell price per image", "0.05"],
  ])
    await form.getByLabel(label!, { exact: true }).fill(value!);
  await form.getByRole("button", { name: "Add a size or quality" }).click();
  await form.getByLabel("Image rate 1: size").fill("huge");
  await form.getByLabel("Image rate 1: provider cost per image").fill("0.04");
  await form.getByLabel("Image rate 1: sell price per image").fill("0.09");
  await expect(form).toContainText("size: WIDTHxHEIGHT");
  await expect(form.getByRole("button", { name: "Add version" })).toBeDisabled();
  await form.getByLabel("Image rate 1: size").fill("1024x1024");
  await form.getByLabel("Image rate 1: quality").selectOption("hd");
  // A year ahead, as the browser's local time (the field's format): scheduled, never in force during the suite.
  const ahead = new Date(Date.now() + 365 * 86_400_000 - new Date().getTimezoneOffset() * 60_000);
  await form.getByLabel("Effective from (local time, optional)").fill(ahead.toISOString().slice(0, 16));
  await form.getByLabel("Note").fill("square HD dearer");
  await snap(page, "73-price-form-units");
  await form.getByRole("button", { name: "Add version" }).click();
  await expect(form).toBeHidden();
  const [added] = await sql<{ image_price_micros: bigint; image_rates: unknown }[]>`
    select pv.image_price_micros, pv.image_rates from price_versions pv join models m on m.id = pv.model_id
    where m.public_name = 'fake-image' and pv.note = 'square HD dearer'`;
  expect(added).toEqual({
    image_price_micros: 50_000n,
    image_rates: [{ size: "1024x1024", quality: "hd", price_micros: 90_000, cost_micros: 40_000 }],
  });
  await expect(page.getByRole("row", { name: /square HD dearer/ })).toContainText("scheduled");
  await page.close();
  await sql.end();
});

test("a developer sees what each model they can call costs, per unit, and never its provider cost", async ({
  browser,
}) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(page, "developer");
  await navLink(page, "Models & prices").click();
  await expect(page.getByRole("heading", { name: "Models & prices" })).toBeVisible();
  await expect(page.getByTestId("model-price-fake-small")).toContainText("input $0.50 / 1M tokens");
  await expect(page.getByTestId("model-price-fake-small")).toContainText("output $1.50 / 1M tokens");
  const image = page.getByTestId("model-price-fake-image");
  await expect(image).toContainText("image $0.04 / image");
  await expect(image).toContainText("image 1792x1024 hd $0.12 / image");
  await expect(image).not.toContainText("1M tokens"); // billed by the image only
  await expect(page.getByTestId("model-price-fake-whisper")).toContainText("audio in $0.0001 / second");
  await expect(page.getByTestId("model-price-fake-cache")).toContainText("cache write $3.75 / 1M tokens");
  // The provider's cost of fake-small ($0.30 in) is nowhere on the page.
  await expect(page.getByTestId("model-price-fake-small")).not.toContainText("$0.30");
  await expect(page.locator("main")).not.toContainText(/cost \$|margin/i);
  await snap(page, "74-models-and-prices");
  await page.getByLabel("Find a model").fill("whisper");
  await expect(page.locator("[data-testid^=model-price-]")).toHaveCount(1);
  await page.close();
});
