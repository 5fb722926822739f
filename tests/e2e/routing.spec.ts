// Routing in the console (issue 29): an admin defines auto:balanced under Admin → Models → Routing with two
// candidates and their quality scores, a developer's key calls it through the gateway with the openai SDK and is
// answered by a candidate that the header names, and Admin → Model health shows that model group's calls, error rate
// and latency from the usage data and what the gateway rests now. Screenshots of both pages at 1280 px.
import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import { createClient } from "@/lib/db/client";
import { fundedDeveloper, signedInAs, snap } from "./helpers";

test("an admin defines a virtual model, a developer's call is routed to a candidate, and Model health shows it", async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signedInAs(page, "admin", "/admin/models");
  const panel = page.getByTestId("routing-panel");
  await expect(panel).toContainText("No virtual models yet");
  await panel.getByRole("button", { name: "New virtual model" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill("auto:balanced");
  await dialog.getByLabel("Description").fill("Quality and speed for the price");
  await dialog.getByRole("checkbox", { name: "fake-small" }).check();
  await dialog.getByRole("checkbox", { name: "fake-large" }).check();
  await dialog.getByLabel("Quality score of fake-large").fill("90");
  await dialog.getByLabel("Quality score of fake-small").fill("60");
  await dialog.getByRole("button", { name: "Create virtual model" }).click();
  await expect(dialog).toBeHidden();
  const row = page.getByTestId("virtual-row-auto:balanced");
  await expect(row).toContainText("balanced");
  await expect(row).toContainText("fake-large · 90");
  await expect(row).toContainText("fake-small · 60");
  await expect(row).toContainText("enabled");
  const [audit] = await sql`select action from audit_log where action = 'virtual_model.create'`;
  expect(audit).toBeDefined();
  await expect(page.getByText("auto:balanced created")).toBeHidden({ timeout: 15_000 });
  await panel.screenshot({ path: "test-results/screens/routing-admin.png" });

  // A bad score is refused in the form before it reaches the server.
  await row.getByRole("button", { name: "Edit auto:balanced" }).click();
  await dialog.getByLabel("Quality score of fake-small").fill("101");
  await expect(dialog.getByRole("button", { name: "Save virtual model" })).toBeDisabled();
  await dialog.screenshot({ path: "test-results/screens/routing-dialog.png" });
  await page.keyboard.press("Escape");

  // A developer's call through the gateway (its routing cache is refreshed a second after its last read: global setup
  // shortens the gateway's TOLLGATE_ROUTING_TTL_SECONDS), retried until then, for at most 40 s as before.
  const dev = await fundedDeveloper(sql, { prefix: "routing", keyName: "routing e2e" });
  const client = new OpenAI({ baseURL: process.env.E2E_GATEWAY_URL, apiKey: dev.secret, maxRetries: 0 });
  let served: string | null = null;
  for (let attempt = 0; attempt < 160 && !served; attempt++) {
    try {
      const { response } = await client.chat.completions
        .create({ model: "auto:balanced", messages: [{ role: "user", content: "hello" }], max_tokens: 8 })
        .withResponse();
      served = response.headers.get("x-tollgate-model");
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  expect(["fake-small", "fake-large"]).toContain(served);
  for (let i = 0; i < 5; i++)
    await client.chat.completions.create({
      model: "auto:balanced",
      messages: [{ role: "user", content: `hello ${i}` }],
      max_tokens: 8,
    });
  await expect
    .poll(async () => (await sql`select 1 from usage_events where key_id = ${dev.keyId}`).length, {
      timeout: 20_000,
    })
    .toBe(6);

  await page.goto("/admin/model-health");
  // The gateway's own view, loaded: the candidates serve (other suites' failing models may rest beside them).
  const resting = page.getByTestId("health-resting");
  await expect(resting).toContainText(/No model rests|calls failed in the window/);
  await expect(resting).not.toContainText("fake-small");
  await expect(resting).not.toContainText("fake-large");
  const hourRow = page.getByTestId(`health-hour-${served}`);
  await expect(hourRow).toBeVisible();
  await expect(hourRow).toContainText("ms");
  await expect(page.getByTestId("health-latency-chart")).toBeVisible();
  const { scroll, clientWidth } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  expect(scroll).toBeLessThanOrEqual(clientWidth);
  await snap(page, "model-health");
  await sql.end();
  await context.close();
});
