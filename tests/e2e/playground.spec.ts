import { expect, type Page, test } from "@playwright/test";
import { displayMicros } from "@/lib/billing/money";
import { createClient } from "@/lib/db/client";
import { fundedDeveloper, navLink, signIn, snap } from "./helpers";

// The playground as a new developer meets it: no key to paste (the platform manages a playground key), answers
// streamed through the real gateway, each with its cost from the ledger, the balance on the page dropping by exactly
// that; stop ends the call and it is charged as estimated; an empty balance shows the 402 and charges nothing;
// chats are saved; two models compared side by side.

const PASSWORD = "playground-e2e-password";
const sqlOf = () => createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });

async function signedIn(page: Page, amountMicros: bigint) {
  const sql = sqlOf();
  const dev = await fundedDeveloper(sql, {
    prefix: "pg",
    keyName: "unused",
    amountMicros,
    password: PASSWORD,
  });
  await signIn(page, dev.email, PASSWORD, "/playground");
  return { sql, dev };
}

/**
 * What the page logs as wrong: console errors, failed requests and responses of 400 or more (a favicon 404
 * included). A request aborted by a navigation or by Stop (net::ERR_ABORTED: prefetches cut short by a reload, the
 * stream Stop ends) is cancelled, not failed.
 */
function watchProblems(page: Page) {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText !== "net::ERR_ABORTED")
      problems.push(`failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return problems;
}

/** The distinct texts an answer shows while it streams, until its usage line says it is done. */
/**
 * Records, in the page itself, each distinct text the newest assistant message shows as the answer streams in (a
 * MutationObserver: every rendered change, however busy the machine running the test is), until the turn's metadata
 * says it is done; returns them. Call before sending.
 */
async function watchPaints(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const w = window as unknown as { __paints: string[] };
    w.__paints = [];
    const before = document.querySelectorAll('[data-testid="message-assistant"]').length;
    new MutationObserver(() => {
      const replies = document.querySelectorAll('[data-testid="message-assistant"]');
      if (replies.length <= before) return;
      const text = (replies[replies.length - 1]?.textContent ?? "").trim();
      if (text && w.__paints[w.__paints.length - 1] !== text) w.__paints.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return async () => {
    await expect(page.getByTestId("turn-metadata").last()).toContainText("out tokens", { timeout: 30_000 });
    return page.evaluate(() => (window as unknown as { __paints: string[] }).__paints);
  };
}

test("no key to paste: the answer streams, its cost is the ledger's, the balance drops by it, the chat is saved", async ({
  page,
}) => {
  test.setTimeout(90_000);
  const { sql, dev } = await signedIn(page, 5_000_000n);
  await expect(page.getByTestId("playground-balance")).toHaveText("$5.00");
  await page.getByLabel("Model").selectOption("fake-slow");
  await page.getByLabel("Max tokens").fill("16");
  await page.getByLabel("Message").fill("Tell me about gateways");
  const paintsUntilDone = await watchPaints(page);
  await page.getByRole("button", { name: "Send" }).click();
  const paints = await paintsUntilDone();
  expect(paints.length).toBeGreaterThan(2); // streamed token by token, not painted once at the end
  const cost = page.getByTestId("turn-cost").last();
  await expect(cost).toHaveAttribute("data-micros", /^\d+$/);
  await expect(cost).toContainText("exact");
  const micros = BigInt((await cost.getAttribute("data-micros"))!);
  const [row] = await sql<{ revenue: bigint; entry: bigint }[]>`
    select e.revenue_micros as revenue,
           (select -sum(le.amount_micros) from ledger_entries le
            where le.transaction_id = e.ledger_transaction_id and le.account_id = e.account_id)::bigint as entry
    from usage_events e where e.key_id in (select id from api_keys where user_id = ${dev.userId})`;
  expect(row!.revenue).toBe(micros);
  expect(row!.entry).toBe(micros);
  await expect(page.getByTestId("playground-balance")).toHaveText(displayMicros(5_000_000n - micros));
  await expect(page.getByTestId("playground-balance")).toHaveAttribute(
    "data-micros",
    String(5_000_000n - micros),
  );
  await snap(page, "20-playground-reply");

  // Saved: after a reload it is in the list and opens with its messages and their costs.
  await page.reload();
  await expect(page.getByTestId("conversation-title").first()).toHaveText("Tell me about gateways");
  await page.getByTestId("conversation-title").first().click();
  await expect(page.getByTestId("message-assistant")).toHaveCount(1);
  await expect(page.getByTestId("turn-cost").last()).toHaveAttribute("data-micros", String(micros));
  // The code view shows the same request for an app's own key.
  await page.getByRole("button", { name: "View code" }).click();
  await expect(page.getByTestId("code-curl")).toContainText('"model": "fake-slow"');
  await page.getByRole("tab", { name: "Python" }).click();
  await expect(page.getByTestId("code-python")).toContainText("client.chat.completions.create(");
  await snap(page, "22-playground-code");
  await page.keyboard.press("Escape");

  // The playground's key is an ordinary key of the developer's, listed as the playground's, never shown.
  await page.goto("/account/keys");
  await expect(page.getByText("Playground · managed")).toBeVisible();
  await sql.end();
});

test("a chat model by default with its prices; a chat, its cost and the code dialog log no error; code is copyable and stays in its dialog", async ({
  page,
  context,
}) => {
  test.setTimeout(90_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const problems = watchProblems(page);
  const { sql } = await signedIn(page, 5_000_000n);

  // The default is the cheapest chat model (fake-small), not the legacy-completions fake-instruct sold at the same
  // price; the picker says what each model costs, and puts legacy models apart.
  const picker = page.getByLabel("Model");
  await expect(picker).toHaveValue("fake-small");
  await expect(picker.locator("option:checked")).toHaveText("fake-small — $0.50 / 1M in · $1.50 / 1M out");
  await expect(picker.locator('optgroup[label="Chat models"] option[value="fake-large"]')).toHaveText(
    "fake-large — $3.50 / 1M in · $15.00 / 1M out",
  );
  await expect(picker.locator('optgroup[label^="Legacy completions"] option')).toHaveText([
    /^fake-instruct — /,
  ]);
  await expect(picker.locator('option[value="fake-embed"], option[value="fake-image"]')).toHaveCount(0);
  const prices = page.getByTestId("model-prices");
  await expect(prices).toHaveText("$0.50 in · $1.50 out per 1M tokens · 16,384-token context");
  await expect(prices.locator('[data-micros="500000"]')).toHaveAttribute("title", /500,000 µ\$/);

  // A chat with the default model: the answer, then its cost, polled for without a failed request. The system
  // prompt is one long line, as real ones are: the code dialog must hold it.
  await page
    .getByLabel("System prompt")
    .fill(`You are a careful assistant. ${"Answer briefly and cite the docs. ".repeat(12)}`);
  await page.getByLabel("Max tokens").fill("12");
  await page.getByLabel("Message").fill("Say hello");
  const scrolledBefore = await page.evaluate(() => window.scrollY);
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("turn-metadata").last()).toContainText("fake-small");
  await expect(page.getByTestId("turn-metadata").last()).toContainText("out tokens", { timeout: 20_000 });
  await expect(page.getByTestId("turn-cost").last()).toHaveAttribute("data-micros", /^\d+$/, {
    timeout: 20_000,
  });
  await expect(page.getByTestId("turn-stopped")).toHaveCount(0);
  // Sending scrolls the chat's own log to its newest line; the page stays where the person left it.
  expect(await page.evaluate(() => window.scrollY)).toBe(scrolledBefore);

  await snap(page, "28-playground-default-model");

  // The code dialog at 1280 px: inside the window, its code blocks inside it (long lines scroll in their block).
  await page.getByRole("button", { name: "View code" }).click();
  const dialog = page.getByTestId("code-dialog");
  await expect(dialog).toBeVisible();
  const within = await dialog.evaluate((el) => {
    const box = el.getBoundingClientRect();
    const outside = [...el.querySelectorAll("*")]
      .map((child) => ({ child, r: child.getBoundingClientRect() }))
      .filter(
        ({ r }) =>
          r.width > 0 &&
          (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.bottom > box.bottom + 0.5),
      )
      .map(
        ({ child }) =>
          `${child.tagName} ${child.getAttribute("data-testid") ?? child.textContent?.slice(0, 30)}`,
      );
    return {
      inWindow: box.left >= 0 && box.top >= 0 && box.right <= innerWidth && box.bottom <= innerHeight,
      outside,
      pageFits: document.documentElement.scrollWidth <= innerWidth,
    };
  });
  expect(within).toEqual({ inWindow: true, outside: [], pageFits: true });
  const curl = page.getByTestId("code-curl");
  await expect(curl).toContainText('"model": "fake-small"');
  const scrolls = await curl.evaluate((el) => el.scrollWidth > el.clientWidth);
  expect(scrolls).toBe(true); // the system prompt's line is wider than the block: it scrolls inside
  // What the window shows (a full-page capture would scroll the fixed dialog away from its overlay).
  await page.screenshot({ path: "test-results/screens/29-playground-code-dialog.png" });

  // Each block has its own copy button; it copies that block's text and says so.
  const copyCurl = dialog.getByRole("button", { name: "Copy curl code" });
  await copyCurl.click();
  await expect(dialog.locator("button[data-copied]")).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await curl.textContent());
  await page.getByRole("tab", { name: "Python" }).click();
  await dialog.getByRole("button", { name: "Copy Python code" }).click();
  const python = await page.evaluate(() => navigator.clipboard.readText());
  expect(python).toBe(await page.getByTestId("code-python").textContent());
  expect(python).toContain('model="fake-small"');
  await page.keyboard.press("Escape");

  // The favicon the browser asks for exists (no 404 on any page).
  for (const icon of ["/favicon.ico", "/icon.svg"]) expect((await page.request.get(icon)).status()).toBe(200);
  await expect(page.locator('head link[rel="icon"]').first()).toHaveAttribute(
    "href",
    /favicon\.ico|icon\.svg/,
  );

  expect(problems).toEqual([]);
  await sql.end();
});

test("stop ends the upstream call; the charge is the estimated one for what was delivered", async ({
  page,
}) => {
  test.setTimeout(90_000);
  const problems = watchProblems(page);
  const { sql, dev } = await signedIn(page, 5_000_000n);
  await page.getByLabel("Model").selectOption("fake-slow");
  await page.getByLabel("Max tokens").fill("400");
  await page.getByLabel("Message").fill("Write at length about metering");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("message-assistant").last()).toHaveText(/\w+ \w+ \w+/, { timeout: 20_000 });
  await page.getByRole("button", { name: "Stop" }).click();
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect
    .poll(
      async () =>
        (
          await sql`select count(*)::int as n from usage_events where key_id in (select id from api_keys where user_id = ${dev.userId})`
        )[0]!.n,
      {
        timeout: 20_000,
      },
    )
    .toBe(1);
  const [row] = await sql<{ billing_status: string; revenue: bigint; completion_tokens: number }[]>`
    select billing_status(status) as billing_status, revenue_micros as revenue, completion_tokens from usage_events where key_id in (select id from api_keys where user_id = ${dev.userId})`;
  expect(row!.billing_status).toBe("estimated");
  expect(row!.revenue).toBeGreaterThan(0n);
  expect(row!.completion_tokens).toBeLessThan(47); // the fake model's full answer is 16–47 tokens: cut short
  await expect(page.getByTestId("turn-cost").last()).toContainText("estimated");
  await expect(page.getByTestId("turn-cost").last()).toHaveAttribute("data-micros", String(row!.revenue));
  // The answer says it was stopped, and still does once the chat is saved and opened again.
  await expect(page.getByTestId("turn-stopped")).toHaveCount(1);
  await expect(page.getByTestId("turn-metadata").last().getByTestId("turn-stopped")).toHaveText("stopped");
  await snap(page, "23-playground-stopped");
  await expect(page.getByTestId("conversation-title").first()).toHaveText("Write at length about metering");
  await page.reload();
  await page.getByTestId("conversation-title").first().click();
  await expect(page.getByTestId("message-assistant")).toHaveCount(1);
  await expect(page.getByTestId("turn-stopped")).toHaveCount(1);
  // Stopping and waiting for the estimated charge logged no error.
  expect(problems).toEqual([]);
  await sql.end();
});

test("with a zero balance the playground says 402 and where to top up; nothing is charged", async ({
  page,
}) => {
  const { sql, dev } = await signedIn(page, 0n);
  await page.getByLabel("Message").fill("hello");
  await page.getByRole("button", { name: "Send" }).click();
  const notice = page.getByTestId("chat-error");
  await expect(notice).toContainText("Out of balance");
  await expect(notice.getByRole("link", { name: "Top up on the balance page" })).toHaveAttribute(
    "href",
    "/account/billing",
  );
  await snap(page, "21-playground-402");
  const [row] = await sql<{ n: number; charged: bigint }[]>`
    select count(*)::int as n, coalesce(sum(revenue_micros), 0)::bigint as charged from usage_events
    where key_id in (select id from api_keys where user_id = ${dev.userId})`;
  expect(row).toEqual({ n: 0, charged: 0n });
  const [account] = await sql<{ balance_micros: bigint; held_micros: bigint }[]>`
    select balance_micros, held_micros from accounts where id = ${dev.accountId}`;
  expect(account).toEqual({ balance_micros: 0n, held_micros: 0n });
  await sql.end();
});

test("compare mode sends one prompt to two models and shows both answers and both costs", async ({
  page,
}) => {
  test.setTimeout(90_000);
  const { sql } = await signedIn(page, 5_000_000n);
  await page.getByRole("tab", { name: "Compare models" }).click();
  const panes = page.getByTestId("compare-pane");
  await expect(panes).toHaveCount(2);
  await panes.nth(0).getByLabel("Model to compare").selectOption("fake-small");
  await panes.nth(1).getByLabel("Model to compare").selectOption("fake-large");
  await page.getByLabel("Prompt to compare").fill("Which is better?");
  await page.getByRole("button", { name: "Compare" }).click();
  for (const i of [0, 1]) {
    await expect(panes.nth(i).getByTestId("turn-metadata")).toContainText("out tokens");
    await expect(panes.nth(i).getByTestId("turn-cost")).toHaveAttribute("data-micros", /^\d+$/);
  }
  await expect(panes.nth(0).getByTestId("turn-metadata")).toContainText("fake-small");
  await expect(panes.nth(1).getByTestId("turn-metadata")).toContainText("fake-large");
  await snap(page, "24-playground-compare");
  await sql.end();
});

test("a developer's own usage, calls and CSV: only their keys' calls, without provider cost", async ({
  page,
}) => {
  test.setTimeout(90_000);
  const sql = sqlOf();
  const dev = await fundedDeveloper(sql, { prefix: "mine", keyName: "my app", password: PASSWORD });
  // Someone else's calls happen meanwhile: they must not show.
  const stranger = await fundedDeveloper(sql, { prefix: "stranger", keyName: "their app" });
  const { default: OpenAI } = await import("openai");
  for (const [secret, n] of [
    [dev.secret, 3],
    [stranger.secret, 2],
  ] as const) {
    const client = new OpenAI({ baseURL: process.env.E2E_GATEWAY_URL, apiKey: secret, maxRetries: 0 });
    for (let i = 0; i < n; i++)
      await client.chat.completions.create({
        model: "fake-small",
        messages: [{ role: "user", content: `mine ${i}` }],
        max_tokens: 6,
      });
  }
  await expect
    .poll(
      async () =>
        (
          await sql`select count(*)::int as n from usage_events where key_id in (select id from api_keys where user_id in (${dev.userId}, ${stranger.userId}))`
        )[0]!.n,
      { timeout: 20_000 },
    )
    .toBe(5);
  const [mine] = await sql<{ revenue: bigint }[]>`
    select sum(revenue_micros)::bigint as revenue from usage_events where key_id in (select id from api_keys where user_id = ${dev.userId})`;
  await signIn(page, dev.email, PASSWORD);
  await navLink(page, "My usage").click();
  await expect(page.getByTestId("total-calls")).toContainText("3");
  await expect(page.getByTestId("usage-totals")).toContainText(displayMicros(mine!.revenue));
  await expect(page.getByTestId("total-revenue").locator(`[data-micros="${mine!.revenue}"]`)).toHaveCount(1);
  await expect(page.getByTestId("usage-totals")).not.toContainText("Provider cost");
  await snap(page, "25-my-usage");
  await navLink(page, "My calls").click();
  await expect(page.getByTestId("request-row")).toHaveCount(3);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("export-csv").click(),
  ]);
  const { readFileSync } = await import("node:fs");
  const csv = readFileSync((await download.path())!, "utf8")
    .trim()
    .split("\r\n");
  expect(csv).toHaveLength(1 + 3);
  expect(csv[0]).not.toContain("cost_usd");
  expect(csv.slice(1).every((line) => line.includes(dev.email))).toBe(true);
  await snap(page, "26-my-calls");
  // Their keys page shows what each key was charged today — the three calls, not what its lease still reserves
  // (the budget counter holds both).
  const [used] = await sql<
    { day_used_micros: bigint }[]
  >`select day_used_micros from api_keys where id = ${dev.keyId}`;
  expect(used!.day_used_micros).toBeGreaterThanOrEqual(mine!.revenue);
  await navLink(page, "My API keys").click();
  const spend = page.getByTestId("key-row-my app").getByTestId("key-spend");
  await expect(spend).toContainText(`charged ${displayMicros(mine!.revenue)} today`);
  await expect(spend.locator("[data-micros]").first()).toHaveAttribute("data-micros", String(mine!.revenue));
  await sql.end();
});

test("an upstream failure is said inline, with nothing charged", async ({ page }) => {
  const { sql, dev } = await signedIn(page, 5_000_000n);
  // The failure model joins the catalog (priced like fake-small) so the playground offers it.
  const [failing] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values ('fake-error-500', 'fake-error-500', 'fake', 16384, 4096)
    on conflict (public_name) do update set max_output_tokens = excluded.max_output_tokens returning id`;
  await sql`
    insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros, output_price_micros)
    values (${failing!.id}, now() - interval '1 day', 300000, 900000, 500000, 1500000) on conflict do nothing`;
  await page.reload();
  await page.getByLabel("Model").selectOption("fake-error-500");
  await page.getByLabel("Message").fill("this fails upstream");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("chat-error")).toContainText("The provider failed", { timeout: 30_000 });
  await expect(page.getByTestId("chat-error")).toContainText("Nothing was charged");
  // The provider's words reach the developer; the gateway's routing (fallback groups, retries) does not.
  await expect(page.getByTestId("chat-error")).toContainText("fake upstream: internal error");
  await expect(page.getByTestId("chat-error")).not.toContainText("Fallbacks");
  await expect
    .poll(
      async () =>
        (
          await sql`select count(*)::int as n from usage_events where key_id in (select id from api_keys where user_id = ${dev.userId})`
        )[0]!.n,
      {
        timeout: 20_000,
      },
    )
    .toBe(1);
  const [row] = await sql<{ billing_status: string; revenue: bigint }[]>`
    select billing_status(status) as billing_status, revenue_micros as revenue from usage_events where key_id in (select id from api_keys where user_id = ${dev.userId})`;
  expect(row).toEqual({ billing_status: "waived", revenue: 0n });
  await snap(page, "27-playground-upstream-failure");
  await sql.end();
});
