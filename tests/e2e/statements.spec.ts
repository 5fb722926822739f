// Statements and receipts in the browser, on the real stack (issue 28): an admin sets what documents print on
// Operator settings; an organization with last month's money (a top-up, a redemption code and charges, written at
// last month's moments through the platform's clock) has that month settled and closed by the queue; its owner opens
// last month's statement from the organization's Statements tab, downloads its PDF (read back with pdf.js: the
// closing balance printed is the ledger's at the month's end) and opens the top-up's receipt.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect, type Page, test } from "@playwright/test";
import { creditAccount } from "@/lib/billing/ledger";
import { formatMicros } from "@/lib/billing/money";
import { settleUsage } from "@/lib/billing/settle";
import { createClient, type Sql } from "@/lib/db/client";
import { enqueue } from "@/lib/queue";
import { startSettlement } from "@/lib/settlement/run";
import { STATEMENTS_CLOSE_JOB } from "@/lib/statements/close";
import { event, seedPricedModel } from "../helpers/billing";
import { issueOrgKey } from "../helpers/orgs";
import { pdfText } from "../helpers/pdf";
import { TEST_CRON_SECRET, TEST_KEY_PEPPER } from "../stack/start";
import { admin, fundedDeveloper, navLink, signedInAs, signIn, snap } from "./helpers";

const PASSWORD = "statements-e2e-password";
const SYSTEM = { userId: null, kind: "system" as const };

/** Runs the queue (what /api/cron/drain does every minute) until `done` answers true. */
async function drainUntil(page: Page, done: () => Promise<boolean>, what: string) {
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

/** Runs `fn` in one transaction standing at `moment` (the platform's clock, tollgate_now()). */
const at = <T>(sql: Sql, moment: string, fn: (tx: Sql) => Promise<T>) =>
  sql.begin(async (tx) => {
    await tx`select set_config('tollgate.now', ${moment}, true)`;
    return fn(tx as unknown as Sql);
  }) as Promise<T>;

test("the owner opens last month's closed statement, its PDF prints the ledger's closing balance, and a receipt", async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  try {
    const { createOrg } = await import("@/lib/orgs/create");
    const { createBatch, redeemCode } = await import("@/lib/redemptions/codes");
    // Last month (UTC, by the database's clock) and its last day.
    const [dates] = await sql<{ month: string; lastDay: string }[]>`
      select to_char(date_trunc('month', now() at time zone 'utc') - interval '1 month', 'YYYY-MM') as month,
             to_char(date_trunc('month', now() at time zone 'utc') - interval '1 day', 'YYYY-MM-DD') as "lastDay"`;
    const { month, lastDay } = dates!;
    const owner = await fundedDeveloper(sql, {
      prefix: "stmt-owner",
      keyName: "personal",
      amountMicros: 0n,
      password: PASSWORD,
    });
    const ownerActor = { userId: owner.userId, kind: "user" as const, role: "developer" as const };
    const orgName = `Statement Co ${randomUUID().slice(0, 6)}`;
    const org = await createOrg(sql, ownerActor, { name: orgName });
    // A model priced since before last month, and the owner's organization key.
    const model = `stmt-e2e-${randomUUID().slice(0, 6)}`;
    await seedPricedModel(sql, model, undefined, 4096, {
      effectiveFrom: new Date(Date.parse(`${month}-01T00:00:00Z`) - 86_400_000),
    });
    const key = await issueOrgKey(sql, {
      accountId: org.account.id,
      userId: owner.userId,
      pepper: TEST_KEY_PEPPER,
    });

    // Last month: a $40 top-up on the 2nd, a $5 code on the 3rd, two batches of calls on the 10th and the 20th.
    await at(sql, `${month}-02T10:00:00Z`, (tx) =>
      creditAccount(tx, SYSTEM, {
        accountId: org.account.id,
        amountMicros: 40_000_000n,
        kind: "topup",
        reason: "Wire transfer, invoice 2041",
        idempotencyKey: randomUUID(),
      }),
    );
    const adminId = (await sql<{ id: string }[]>`select id from users where email = ${admin().email}`)[0]!.id;
    const { codes } = await createBatch(
      sql,
      { userId: adminId, kind: "user", role: "admin" },
      { amountMicros: 5_000_000n, count: 1, expiresAt: null, note: "e2e statements" },
      { pepper: TEST_KEY_PEPPER },
    );
    await at(sql, `${month}-03T09:00:00Z`, (tx) =>
      redeemCode(tx, ownerActor, codes[0]!, {
        pepper: TEST_KEY_PEPPER,
        limits: { perUser: 10, perIp: 10, windowSeconds: 60 },
        org: org.slug,
      }),
    );
    for (const [day, tokens] of [
      ["10", 120_000],
      ["20", 333_333],
    ] as const) {
      await at(sql, `${month}-${day}T12:00:05Z`, (tx) =>
        settleUsage(
          tx,
          [1, 2, 3].map((n) =>
            event(key.id, randomUUID(), {
              modelGroup: model,
              promptTokens: tokens * n,
              completionTokens: 1000 * n,
              startedAt: `${month}-${day}T12:00:00Z`,
              endedAt: `${month}-${day}T12:00:02Z`,
            }),
          ),
        ),
      );
    }
    const [ledger] = await sql<{ closing: bigint }[]>`
      select coalesce(sum(e.amount_micros), 0)::bigint as closing
      from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
      where e.account_id = ${org.account.id} and t.created_at < (${month} || '-01')::date + interval '1 month'`;
    const closing = formatMicros(ledger!.closing);

    // The last day's settlement and the month's closing, through the queue as the crons run them.
    const cron = await browser.newContext();
    const cronPage = await cron.newPage();
    const run = await startSettlement(sql, SYSTEM, { day: lastDay, trigger: "manual", chunkAccounts: 200 });
    await drainUntil(
      cronPage,
      async () =>
        (await sql`select 1 from settlement_runs where id = ${run.runId} and status = 'completed'`).length ===
        1,
      `the settlement of ${lastDay} completed`,
    );
    await enqueue(sql, STATEMENTS_CLOSE_JOB, { month }, { singletonKey: `${STATEMENTS_CLOSE_JOB}:${month}` });
    await drainUntil(
      cronPage,
      async () =>
        (await sql`select 1 from statement_months where month = (${month} || '-01')::date`).length === 1,
      `${month} closed`,
    );
    const [closed] = await sql<{ label: string }[]>`
      select label from statements where account_id = ${org.account.id} and month = (${month} || '-01')::date`;

    // 1. An admin sets what statements and receipts print.
    const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const adminPage = await adminContext.newPage();
    await signedInAs(adminPage, "admin");
    await navLink(adminPage, "Operator settings").click();
    const legalName = `Tollgate Billing ${randomUUID().slice(0, 4)} Ltd`;
    await adminPage.getByLabel("Legal name").fill(legalName);
    await adminPage.getByLabel("Address").fill("12 Meter Street\nLedger City 1001");
    await adminPage.getByLabel("Tax id").fill("EU123456789");
    await adminPage.getByLabel("Contact email").fill("billing@tollgate.example");
    await adminPage
      .getByLabel("Footer")
      .fill("Questions about a statement? Write to billing@tollgate.example.");
    await adminPage.getByRole("button", { name: "Save" }).click();
    await expect(adminPage.getByText("Operator settings saved")).toBeVisible();
    await snap(adminPage, "statements-operator-settings");

    // 2. The owner opens the organization's statements and last month's.
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    await signIn(page, owner.email, PASSWORD, `/orgs/${org.slug}`);
    await page.locator("main").getByRole("link", { name: "Statements", exact: true }).first().click();
    await expect(page).toHaveURL(new RegExp(`/orgs/${org.slug}/statements$`));
    const row = page.locator(`[data-testid=statement-row][data-month="${month}"]`);
    await expect(row).toContainText(closed?.label ?? "open");
    await snap(page, "statements-org-list");
    await row.getByRole("link").first().click();
    await expect(page).toHaveURL(new RegExp(`month=${month}`));
    if (closed) await expect(page.getByTestId("statement-number")).toHaveText(`Statement ${closed.label}`);
    await expect(page.getByTestId("statement-closing")).toHaveText(closing);
    await expect(page.getByTestId("statement-credit")).toHaveCount(2);
    await expect(page.getByTestId("charges-by-model")).toContainText(model);
    await expect(page.getByTestId("charges-by-member")).toContainText("stmt-owner");
    await snap(page, "statements-org-month");
    // On a phone the statement fits its window (its tables scroll inside their cards).
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await snap(page, "statements-org-month-390");
    await page.setViewportSize({ width: 1280, height: 900 });

    // 3. Its PDF: the closing balance printed is the ledger's.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("statement-pdf").click(),
    ]);
    const text = await pdfText(new Uint8Array(readFileSync((await download.path())!)));
    expect(/Closing balance\s+(-?\$[\d,]+\.\d{6})/.exec(text)?.[1]).toBe(closing);
    expect(text).toContain(orgName);
    expect(text).toContain(legalName);
    if (closed) expect(text).toContain(`Statement ${closed.label}`);

    // 4. The top-up's receipt.
    const topUp = page.getByTestId("statement-credit").filter({ hasText: "Top-up by the operator" });
    await topUp.getByRole("link").click();
    await expect(page.getByTestId("receipt-amount")).toHaveText("$40.000000");
    await expect(page.getByTestId("receipt-operator")).toContainText(legalName);
    await expect(page.getByTestId("receipt-operator")).toContainText("12 Meter Street");
    await expect(page.getByTestId("receipt-holder")).toContainText(orgName);
    await expect(page.getByTestId("receipt-method")).toHaveText("Top-up by the operator");
    await snap(page, "statements-receipt");
    const [receiptPdf] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("receipt-pdf").click(),
    ]);
    const receiptText = await pdfText(new Uint8Array(readFileSync((await receiptPdf.path())!)));
    expect(receiptText).toContain("$40.000000");
    expect(receiptText).toContain("EU123456789");
    await context.close();
    await adminContext.close();
    await cron.close();
  } finally {
    await sql.end();
  }
});
