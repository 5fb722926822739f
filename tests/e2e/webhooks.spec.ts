// Usage webhooks in the browser, on the real stack (issue 28): an organization's owner adds an endpoint (a local
// receiver) on the Webhooks tab, copies its secret from the one-time dialog, sees the deliveries of two charged calls
// (settled as the gateway's webhook settles them, delivered by the queue's cron tick), and resends one: the receiver
// gets it again under the same webhook-id, every request verified with the Standard Webhooks reference library.
import { randomUUID } from "node:crypto";
import { expect, type Page, test } from "@playwright/test";
import { Webhook } from "standardwebhooks";
import { creditAccount } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { createClient } from "@/lib/db/client";
import { event } from "../helpers/billing";
import { issueOrgKey } from "../helpers/orgs";
import { startReceiver } from "../helpers/webhook-receiver";
import { TEST_CRON_SECRET, TEST_KEY_PEPPER } from "../stack/start";
import { fundedDeveloper, signIn, snap } from "./helpers";

const PASSWORD = "webhooks-e2e-password";

/** Runs the queue (what /api/cron/drain does every minute) until `done` answers true. */
async function drainUntil(page: Page, done: () => boolean | Promise<boolean>, what: string) {
  await expect
    .poll(
      async () => {
        const res = await page.request.get("/api/cron/drain", {
          headers: { authorization: `Bearer ${TEST_CRON_SECRET}` },
        });
        expect(res.status()).toBe(200);
        return done();
      },
      { message: what, timeout: 60_000, intervals: [500] },
    )
    .toBe(true);
}

test("the owner adds an endpoint, sees its deliveries and resends one", async ({ page }) => {
  test.setTimeout(120_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  const receiver = await startReceiver();
  try {
    const { createOrg } = await import("@/lib/orgs/create");
    const owner = await fundedDeveloper(sql, {
      prefix: "hooks-owner",
      keyName: "personal",
      amountMicros: 0n,
      password: PASSWORD,
    });
    const orgName = `Hooks Co ${randomUUID().slice(0, 6)}`;
    const org = await createOrg(
      sql,
      { userId: owner.userId, kind: "user", role: "developer" },
      { name: orgName },
    );
    await creditAccount(
      sql,
      { userId: null, kind: "system" },
      {
        accountId: org.account.id,
        amountMicros: 10_000_000n,
        kind: "topup",
        reason: "e2e webhooks",
        idempotencyKey: randomUUID(),
      },
    );
    const key = await issueOrgKey(sql, {
      accountId: org.account.id,
      userId: owner.userId,
      pepper: TEST_KEY_PEPPER,
    });

    await signIn(page, owner.email, PASSWORD, `/orgs/${org.slug}`);
    await page
      .getByRole("navigation", { name: `${orgName} pages` })
      .getByRole("link", { name: "Webhooks" })
      .click();
    await expect(page.getByRole("heading", { name: "Webhooks", level: 1 })).toBeVisible();
    await expect(page.getByText("No endpoints yet")).toBeVisible();

    // Add the endpoint: the secret is shown once, with a copy button.
    await page.getByTestId("add-endpoint").click();
    await page.getByLabel("URL").fill(receiver.url);
    await page.getByLabel("Description (optional)").fill("e2e receiver");
    await expect(page.getByRole("checkbox", { name: /call\.charged/ })).toBeChecked();
    await page.getByRole("checkbox", { name: /key\.revoked/ }).check();
    await snap(page, "webhooks-add-endpoint");
    await page.getByRole("button", { name: "Add endpoint" }).last().click();
    const secretBox = page.getByTestId("endpoint-secret");
    await expect(secretBox).toHaveText(/^whsec_/);
    const secret = (await secretBox.textContent())!.trim();
    await expect(page.getByRole("button", { name: "Copy secret" })).toBeVisible();
    await snap(page, "webhooks-secret-once");
    await page.getByRole("button", { name: "Done" }).click();
    await expect(page.getByTestId("endpoint-row")).toHaveCount(1);
    await expect(page.getByTestId("endpoint-row")).toContainText(receiver.url);

    // Two calls charged to the organization (settled as the gateway's usage webhook settles them), then the cron tick.
    const calls = [randomUUID(), randomUUID()];
    const started = Date.now() - 60_000;
    for (const [i, callId] of calls.entries()) {
      const at = new Date(started + i * 10_000).toISOString();
      await settleUsage(sql, [event(key.id, callId, { startedAt: at, endedAt: at })]);
    }
    await drainUntil(page, () => receiver.received.length >= 2, "both events delivered");
    const events = receiver.received.map((r) => new Webhook(secret).verify(r.body, r.headers) as any);
    expect(events.map((e) => e.data.callId)).toEqual(calls);

    const deliveries = page.getByTestId("delivery-row");
    await expect(deliveries).toHaveCount(2);
    await expect(deliveries.filter({ hasText: "delivered" })).toHaveCount(2);
    await expect(page.getByTestId("attempt-row").first()).toContainText("200");
    await snap(page, "webhooks-deliveries");

    // Resend the older call's delivery: the receiver gets it again under the same webhook-id.
    await deliveries
      .filter({ hasText: events[0].id.slice(0, 12) })
      .getByTestId("resend")
      .click();
    await expect(page.getByText("Queued to send again")).toBeVisible();
    await drainUntil(page, () => receiver.received.length >= 3, "the resent event delivered");
    const resent = receiver.received[2]!;
    expect(resent.headers["webhook-id"]).toBe(events[0].id);
    expect(new Webhook(secret).verify(resent.body, resent.headers)).toMatchObject({
      data: { callId: calls[0] },
    });
    await expect(deliveries).toHaveCount(3);
    await expect(deliveries.first()).toContainText("resend");
    await expect(deliveries.first()).toContainText("delivered");
    await snap(page, "webhooks-resent");
  } finally {
    await receiver.close();
    await sql.end();
  }
});
