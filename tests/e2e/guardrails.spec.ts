// Guardrails & cache in the browser, on the real stack (issue 30 parts 1 and 4, the platform side): an organization's
// owner turns on masking for email addresses and the response cache for an hour on the organization's tab, reloads
// and finds both kept (and stored as the gateway reads them); a plain member opens the same tab and sees the policy
// read-only, with who may change it; a developer sets their own account's policy on Account → Guardrails & cache.
// At 1280 px nothing on the pages is wider than its window or its table.
import { randomUUID } from "node:crypto";
import { expect, type Page, test } from "@playwright/test";
import { createClient, type Sql } from "@/lib/db/client";
import { fundedDeveloper, navLink, signIn, snap } from "./helpers";

const PASSWORD = "guardrails-e2e-password";

/** The page and the PII table fit their boxes: no sideways scrolling at this width. */
async function expectNothingClipped(page: Page) {
  const widths = await page.evaluate(() => {
    const table = document.querySelector('[data-testid="pii-table"]')?.parentElement;
    return {
      page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      table: table ? table.scrollWidth - table.clientWidth : -1,
    };
  });
  expect(widths.page, "the page is wider than the window").toBeLessThanOrEqual(0);
  expect(widths.table, "the PII table scrolls sideways").toBe(0);
}

/** Picks off / mask / block for a category the way a person does: by clicking the choice's label. */
async function choose(page: Page, category: string, action: "Off" | "Mask" | "Block") {
  const row = page.getByTestId(`pii-row-${category}`);
  await row.locator("label", { hasText: action }).click();
  await expect(row.getByRole("radio", { name: action })).toBeChecked();
}

async function stored(sql: Sql, accountId: string) {
  const [row] = await sql`
    select response_cache_ttl_seconds as ttl, response_cache_max_temperature::float8 as temp, pii_policy as pii
    from accounts where id = ${accountId}`;
  return row;
}

test("an owner sets the organization's guardrails and cache, a member sees them read-only, a developer sets their own", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  try {
    const { createOrg } = await import("@/lib/orgs/create");
    const person = (prefix: string) =>
      fundedDeveloper(sql, { prefix, keyName: `${prefix} key`, amountMicros: 0n, password: PASSWORD });
    const owner = await person("guard-owner");
    const member = await person("guard-member");
    const org = await createOrg(
      sql,
      { userId: owner.userId, kind: "user", role: "developer" },
      { name: `Guardco ${randomUUID().slice(0, 6)}` },
    );
    await sql`
      insert into organization_members (organization_id, user_id, role, invited_by)
      values (${org.id}, ${member.userId}, 'member', ${owner.userId})`;

    // 1. The owner opens the organization's tab, turns on the cache for an hour and masks email addresses.
    const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const ownerPage = await ownerContext.newPage();
    await signIn(ownerPage, owner.email, PASSWORD, `/orgs/${org.slug}`);
    await ownerPage
      .getByRole("navigation", { name: `${org.name} pages` })
      .getByRole("link", { name: "Guardrails & cache" })
      .click();
    await expect(ownerPage.getByRole("heading", { name: "Guardrails & cache", level: 1 })).toBeVisible();
    await expect(ownerPage.getByTestId("policy-readonly")).toHaveCount(0);
    const cacheSwitch = ownerPage.getByRole("switch");
    await expect(cacheSwitch).not.toBeChecked();
    await cacheSwitch.click();
    await ownerPage.getByRole("radio", { name: "1 hour" }).check();
    await ownerPage.getByLabel("Maximum temperature cached").fill("0.5");
    await choose(ownerPage, "email", "Mask");
    await ownerPage.getByRole("button", { name: "Save guardrails & cache" }).click();
    await expect(ownerPage.getByText(/Saved: the gateway applies it/)).toBeVisible();
    await expect
      .poll(() => stored(sql, org.account.id))
      .toEqual({ ttl: 3600, temp: 0.5, pii: { email: "mask" } });

    await ownerPage.reload();
    await expect(ownerPage.getByRole("switch")).toBeChecked();
    await expect(ownerPage.getByRole("radio", { name: "1 hour" })).toBeChecked();
    await expect(ownerPage.getByLabel("Maximum temperature cached")).toHaveValue("0.5");
    await expect(ownerPage.getByTestId("pii-row-email").getByRole("radio", { name: "Mask" })).toBeChecked();
    await expect(ownerPage.getByTestId("pii-row-card").getByRole("radio", { name: "Off" })).toBeChecked();
    await expectNothingClipped(ownerPage);
    await snap(ownerPage, "guardrails-org-owner");

    // 2. A plain member sees the same policy, read-only, and who changes it.
    const memberContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const memberPage = await memberContext.newPage();
    await signIn(memberPage, member.email, PASSWORD, `/orgs/${org.slug}`);
    await memberPage
      .getByRole("navigation", { name: `${org.name} pages` })
      .getByRole("link", { name: "Guardrails & cache" })
      .click();
    await expect(memberPage.getByTestId("policy-readonly")).toContainText(
      `only ${org.name}'s owners and admins can change it`,
    );
    await expect(memberPage.getByRole("switch")).toBeChecked();
    await expect(memberPage.getByRole("switch")).toBeDisabled();
    await expect(memberPage.getByRole("radio", { name: "1 hour" })).toBeChecked();
    const memberMask = memberPage.getByTestId("pii-row-email").getByRole("radio", { name: "Mask" });
    await expect(memberMask).toBeChecked();
    await expect(memberMask).toBeDisabled();
    await expect(memberPage.getByRole("button", { name: "Save guardrails & cache" })).toHaveCount(0);
    await expectNothingClipped(memberPage);
    await snap(memberPage, "guardrails-org-member");

    // 3. The member's own account is theirs: Account → Guardrails & cache, block cards, cache for 5 minutes.
    await navLink(memberPage, "Guardrails & cache").click();
    await expect(memberPage).toHaveURL(/\/account\/guardrails$/);
    await expect(memberPage.getByTestId("policy-readonly")).toHaveCount(0);
    await expect(memberPage.getByRole("switch")).not.toBeChecked();
    await memberPage.getByRole("switch").click();
    await memberPage.getByRole("radio", { name: "5 minutes" }).check();
    await choose(memberPage, "card", "Block");
    await choose(memberPage, "secret", "Mask");
    await memberPage.getByRole("button", { name: "Save guardrails & cache" }).click();
    await expect(memberPage.getByText(/Saved: the gateway applies it/)).toBeVisible();
    await expect
      .poll(() => stored(sql, member.accountId))
      .toEqual({ ttl: 300, temp: 0, pii: { card: "block", secret: "mask" } });
    await memberPage.reload();
    await expect(memberPage.getByRole("switch")).toBeChecked();
    await expect(memberPage.getByRole("radio", { name: "5 minutes" })).toBeChecked();
    await expect(memberPage.getByTestId("pii-row-card").getByRole("radio", { name: "Block" })).toBeChecked();
    await expect(memberPage.getByTestId("pii-row-secret").getByRole("radio", { name: "Mask" })).toBeChecked();
    await expect(memberPage.getByTestId("pii-row-email").getByRole("radio", { name: "Off" })).toBeChecked();
    await expectNothingClipped(memberPage);
    await snap(memberPage, "guardrails-own-account");
    // The organization's policy is untouched by the member's own.
    expect(await stored(sql, org.account.id)).toEqual({ ttl: 3600, temp: 0.5, pii: { email: "mask" } });

    await ownerContext.close();
    await memberContext.close();
  } finally {
    await sql.end();
  }
});
