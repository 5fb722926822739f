import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import { displayMicros } from "@/lib/billing/money";
import { createClient } from "@/lib/db/client";
import { verifyWebhook } from "@/lib/http/webhook-signature";
import { TEST_CRON_SECRET } from "../stack/start";
import { fundedDeveloper, signedInAs, snap } from "./helpers";

// The admin dashboard with data made through the real gateway: a fresh developer's calls (two models, one failure)
// are found by filters in analytics, the request log and its CSV; a spend rule on their key fires once, shows the
// banner and sends one signed notice to a local receiver. Every page in light and dark mode.

test("overview, analytics, request log, CSV export and a spend alert, as an admin", async ({ browser }) => {
  test.setTimeout(120_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  // The failure model joins the catalog (priced like fake-small) so the key may call it.
  const [failing] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values ('fake-error-500', 'fake-error-500', 'fake', 16384, 4096)
    on conflict (public_name) do update set max_output_tokens = excluded.max_output_tokens returning id`;
  await sql`
    insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros, output_price_micros)
    values (${failing!.id}, now() - interval '1 day', 300000, 900000, 500000, 1500000) on conflict do nothing`;
  const dev = await fundedDeveloper(sql, { prefix: "dash", keyName: "dashboard app" });
  const user = { id: dev.userId };
  const key = { id: dev.keyId };
  const secret = dev.secret;
  const client = new OpenAI({ baseURL: process.env.E2E_GATEWAY_URL, apiKey: secret, maxRetries: 0 });
  for (let i = 0; i < 4; i++)
    await client.chat.completions.create({
      model: "fake-small",
      messages: [{ role: "user", content: `small ${i}` }],
      max_tokens: 8,
    });
  await client.chat.completions.create({
    model: "fake-large",
    messages: [{ role: "user", content: "large" }],
    max_tokens: 8,
  });
  await client.chat.completions
    .create({ model: "fake-error-500", messages: [{ role: "user", content: "fail" }], max_tokens: 8 })
    .catch(() => null);
  // The events arrive through the signed webhook within a second or so.
  await expect
    .poll(
      async () =>
        (
          await sql`select count(*)::int as n from usage_events where key_id in (select id from api_keys where user_id = ${user.id})`
        )[0]!.n,
      {
        timeout: 20_000,
      },
    )
    .toBe(6);
  const sums = async (where = sql`true`) =>
    (
      await sql<{ calls: number; revenue: bigint }[]>`
        select count(*)::int as calls, coalesce(sum(revenue_micros), 0)::bigint as revenue
        from usage_events where key_id in (select id from api_keys where user_id = ${user.id}) and ${where}`
    )[0]!;
  const all = await sums();
  const small = await sums(sql`model_group = 'fake-small'`);
  expect(all.revenue).toBeGreaterThan(small.revenue);

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signedInAs(page, "admin");
  await expect(page).toHaveURL(/\/admin$/);

  // Overview: today's figures equal the database's, to the micro-dollar. Other specs call the gateway at the same
  // time: the database is read again and the page reloaded until both are read between two of their calls.
  await expect(async () => {
    const [today] = await sql<{ calls: number; revenue: bigint }[]>`
      select count(*)::int as calls, coalesce(sum(revenue_micros), 0)::bigint as revenue from usage_events
      where started_at >= (now() at time zone 'utc')::date::timestamp at time zone 'utc'`;
    await page.reload();
    await expect(page.getByTestId("overview-today-calls")).toContainText(
      today!.calls.toLocaleString("en-US"),
      {
        timeout: 5_000,
      },
    );
    await expect(page.getByTestId("overview-today-revenue")).toContainText(displayMicros(today!.revenue), {
      timeout: 1_000,
    });
  }).toPass({ timeout: 40_000 });
  await snap(page, "60-overview");

  // Analytics: this developer's calls; a model filter changes totals, chart and table alike, and lives in the URL.
  await page.goto(`/admin/analytics?userId=${user.id}`);
  await expect(page.getByTestId("total-calls")).toContainText("6");
  await expect(page.getByTestId("total-revenue")).toContainText(displayMicros(all.revenue));
  await expect(page.getByTestId("breakdown-row")).toHaveCount(3);
  const chartBefore = await page.getByTestId("usage-chart").innerHTML();
  await snap(page, "61-analytics");
  await page.getByLabel("Model").selectOption("fake-small");
  await expect(page).toHaveURL(/model=fake-small/);
  await expect(page.getByTestId("total-calls")).toContainText("4");
  await expect(page.getByTestId("total-revenue")).toContainText(displayMicros(small.revenue));
  await expect(page.getByTestId("breakdown-row")).toHaveCount(1);
  await expect.poll(() => page.getByTestId("usage-chart").innerHTML()).not.toBe(chartBefore);
  // Shared by its address: a reload keeps the view.
  await page.reload();
  await expect(page.getByTestId("total-calls")).toContainText("4");
  await snap(page, "62-analytics-filtered");

  // Request log: the six calls, the failure's error class, a call's drawer with its reservation and ledger entry.
  await page.goto(`/admin/requests?userId=${user.id}`);
  await expect(page.getByTestId("request-row")).toHaveCount(6);
  await expect(page.getByTestId("request-row").filter({ hasText: "fake-error-500" })).toContainText(/Error/);
  await expect(page.getByText("Prompt and completion bodies are not stored", { exact: false })).toBeVisible();
  await page.getByTestId("request-row").filter({ hasText: "fake-large" }).click();
  const drawer = page.getByTestId("request-drawer");
  await expect(drawer.getByTestId("drawer-ledger")).toContainText("charge");
  await expect(drawer.getByTestId("drawer-reservation")).toContainText(/Lease|Hold/);
  await snap(page, "63-request-drawer");
  await page.keyboard.press("Escape");

  // CSV: exactly the filtered rows.
  await page.goto(`/admin/requests?userId=${user.id}&model=fake-small`);
  await expect(page.getByTestId("request-row")).toHaveCount(4);
  await snap(page, "64-request-log-filtered");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("export-csv").click(),
  ]);
  const csv = readFileSync((await download.path())!, "utf8")
    .trim()
    .split("\r\n");
  expect(csv).toHaveLength(1 + 4);
  const header = csv[0]!.split(",");
  const revenues = csv.slice(1).map((line) => line.split(",")[header.indexOf("revenue_usd")]!);
  const total = revenues.reduce((s, r) => s + BigInt(r.replace(".", "")), 0n);
  expect(total).toBe(small.revenue);

  // A spend rule on the key: fires once when the drain evaluates it, banner shown, one signed notice delivered.
  const received: { body: string; signature: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      received.push({ body, signature: String(req.headers["x-tollgate-signature"]) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const origin = { origin: new URL(page.url()).origin };
  try {
    const settings = await page.request.patch("/api/v1/alerts/settings", {
      headers: origin,
      data: { webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts` },
    });
    expect(settings.status()).toBe(200);
    const signingSecret = (await settings.json()).settings.signingSecret as string;
    await page.goto("/admin/alerts");
    await page.getByRole("button", { name: "New rule" }).click();
    await page.getByLabel("Name").fill("Dashboard app spend");
    await page.getByLabel("Watch").selectOption("key");
    await page.getByLabel("User or key id").fill(key.id);
    await page.getByLabel("Warning at (USD per hour)").fill("0.000001");
    await page.getByLabel("Critical at (USD per hour)").fill("100");
    await page.getByRole("button", { name: "Create rule" }).click();
    const rule = page.getByTestId("alert-rule-row").filter({ hasText: "Dashboard app spend" });
    await expect(rule).toContainText("armed");
    const drain = () =>
      page.request.get("/api/cron/drain", { headers: { authorization: `Bearer ${TEST_CRON_SECRET}` } });
    expect((await drain()).status()).toBe(200);
    const mine = () => received.filter((r) => JSON.parse(r.body).alert.rule.name === "Dashboard app spend");
    await expect.poll(() => mine().length, { timeout: 10_000 }).toBe(1);
    const notice = JSON.parse(mine()[0]!.body);
    expect(notice).toMatchObject({ type: "alert.opened", alert: { severity: "warning" } });
    expect(BigInt(notice.alert.value)).toBe(all.revenue);
    expect(
      verifyWebhook(signingSecret, mine()[0]!.body, mine()[0]!.signature, { toleranceSeconds: 300 }),
    ).toEqual({ ok: true });
    // Still over the line at the next evaluation: no second notice.
    expect((await drain()).status()).toBe(200);
    await page.reload();
    await expect(rule).toContainText("warning");
    await expect(page.getByTestId("alert-banner")).toBeVisible();
    await expect(
      page.getByTestId("alert-episode-row").filter({ hasText: "Dashboard app spend" }),
    ).toContainText("open");
    expect(mine()).toHaveLength(1);
    await snap(page, "65-alerts");
    // Quiet again for the other specs: the rule is switched off (its episode ends) and the URL cleared.
    await rule.getByRole("button", { name: "Switch off" }).click();
    await expect(rule).toContainText("off");
  } finally {
    await page.request.patch("/api/v1/alerts/settings", { headers: origin, data: { webhookUrl: null } });
    receiver.close();
    await sql.end();
  }

  // Dark mode, every dashboard page.
  await page.getByRole("button", { name: "User menu" }).click();
  await page.getByRole("menuitem", { name: "Dark" }).click();
  await expect(page.locator("html")).toHaveClass(/dark/);
  for (const [path, name] of [
    ["/admin", "66-overview-dark"],
    [`/admin/analytics?userId=${user.id}`, "67-analytics-dark"],
    [`/admin/requests?userId=${user.id}`, "68-request-log-dark"],
    ["/admin/alerts", "69-alerts-dark"],
  ] as const) {
    await page.goto(path);
    await expect(page.locator("main h1")).toBeVisible();
    await page.waitForLoadState("networkidle");
    await snap(page, name);
  }
  await page.getByRole("button", { name: "User menu" }).click();
  await page.getByRole("menuitem", { name: "Light" }).click();
});

test("a developer cannot open the admin dashboard", async ({ page }) => {
  await signedInAs(page, "developer");
  for (const path of ["/admin", "/admin/analytics", "/admin/requests", "/admin/alerts"]) {
    await page.goto(path);
    await expect(page).toHaveURL(/\/home$/);
  }
  for (const api of [
    "/api/v1/analytics/overview",
    "/api/v1/requests",
    "/api/v1/requests/export",
    "/api/v1/alerts",
  ]) {
    expect((await page.request.get(api)).status()).toBe(403);
  }
});
