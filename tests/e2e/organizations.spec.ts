// Organizations in the browser, on the real stack (issue 25): an owner creates an organization and funds it with a
// code; invites a teammate by email, which a real SMTP server receives (global-setup's mailbox); the teammate signs
// in from the emailed link, accepts, creates an organization key on its page and calls the gateway with the official
// openai client; the owner then sees that call and its exact charge attributed to the teammate on the overview, and
// the organization, not the teammate, paid for it.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect, type Page, test } from "@playwright/test";
import OpenAI from "openai";
import { displayMicros } from "@/lib/billing/money";
import { createClient } from "@/lib/db/client";
import { slugFromName } from "@/lib/orgs/schemas";
import { createBatch } from "@/lib/redemptions/codes";
import { TEST_CRON_SECRET, TEST_KEY_PEPPER } from "../stack/start";
import { fundedDeveloper, navLink, signedInAs, signIn, snap } from "./helpers";

const PASSWORD = "organizations-e2e-password";

interface Mail {
  to: string;
  subject: string;
  raw: string;
}

/** The messages the SMTP server received (tests/e2e/global-setup.ts). */
function mailbox(): Mail[] {
  return readFileSync(process.env.E2E_MAILBOX!, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Mail);
}

/** A message's text as written: quoted-printable soft breaks joined and =XX escapes decoded. */
function decoded(raw: string): string {
  const body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
  if (!/Content-Transfer-Encoding: quoted-printable/i.test(raw)) return body;
  return Buffer.from(
    body
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    "latin1",
  ).toString("utf8");
}

/** Runs the queue (the invitation email is a job) until the mailbox holds a message to `to`. */
async function mailTo(page: Page, to: string): Promise<Mail> {
  let found: Mail | undefined;
  await expect
    .poll(
      async () => {
        await page.request.get("/api/cron/drain", {
          headers: { authorization: `Bearer ${TEST_CRON_SECRET}` },
        });
        found = mailbox().find((m) => m.to === to);
        return Boolean(found);
      },
      { timeout: 20_000, intervals: [500] },
    )
    .toBe(true);
  return found!;
}

test("an owner creates an organization, invites by email, and sees the invitee's call and its cost on the overview", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  try {
    const owner = await fundedDeveloper(sql, {
      prefix: "org-owner",
      keyName: "owner's own key",
      amountMicros: 0n,
      password: PASSWORD,
    });
    // The invitee already has an account (made like an admin makes one), with money of their own that must not move.
    const invitee = await fundedDeveloper(sql, {
      prefix: "org-invitee",
      keyName: "invitee's own key",
      amountMicros: 3_000_000n,
      password: PASSWORD,
    });
    const {
      codes: [code],
    } = await createBatch(
      sql,
      { userId: null, kind: "system" },
      { amountMicros: 5_000_000n, count: 1, expiresAt: null, note: `org-e2e-${randomUUID()}` },
      { pepper: TEST_KEY_PEPPER },
    );

    // 1. The owner creates the organization from the Organizations page: the slug follows the name.
    const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const ownerPage = await ownerContext.newPage();
    await signIn(ownerPage, owner.email, PASSWORD);
    await navLink(ownerPage, "Organizations").click();
    await expect(ownerPage.getByTestId("orgs-empty")).toContainText("You are not in an organization yet.");
    const name = `Globex Research ${randomUUID().slice(0, 6)}`;
    const slug = slugFromName(name);
    await ownerPage.getByRole("button", { name: "Create organization" }).first().click();
    await ownerPage.getByLabel("Name").fill(name);
    await expect(ownerPage.getByLabel("Slug")).toHaveValue(slug);
    await snap(ownerPage, "org-01-create");
    await ownerPage.getByRole("dialog").getByRole("button", { name: "Create organization" }).click();
    await expect(ownerPage).toHaveURL(new RegExp(`/orgs/${slug}$`));
    await expect(ownerPage.getByRole("heading", { name })).toBeVisible();
    await expect(ownerPage.getByTestId("org-role")).toContainText("owner");
    await expect(ownerPage.getByTestId("org-available")).toHaveText("$0.00");
    // The header's switcher now names it.
    await expect(ownerPage.getByTestId("org-switcher")).toContainText(name);

    // 2. The owner funds it with a code on its billing page.
    await ownerPage.getByRole("link", { name: "Billing", exact: true }).click();
    await ownerPage.getByLabel("Redemption code").fill(code!);
    await ownerPage.getByRole("button", { name: "Redeem" }).click();
    await expect(ownerPage.getByText(`$5.00 added to ${name}'s balance`)).toBeVisible();
    await expect(ownerPage.getByTestId("ledger-row").first()).toContainText("+$5.00");
    await snap(ownerPage, "org-02-billing");

    // 3. The owner invites the teammate; a real SMTP server receives the email with the link.
    await ownerPage.getByRole("link", { name: "Members", exact: true }).click();
    await ownerPage.getByRole("button", { name: "Invite member" }).click();
    await ownerPage.getByLabel("Email").fill(invitee.email);
    await snap(ownerPage, "org-03-invite");
    await ownerPage.getByRole("button", { name: "Send invitation" }).click();
    await expect(ownerPage.getByText(`Invitation emailed to ${invitee.email}`)).toBeVisible();
    const pending = ownerPage.getByTestId("invitation-row");
    await expect(pending).toHaveAttribute("data-email", invitee.email);
    await expect(pending).toContainText("member");
    await snap(ownerPage, "org-04-pending");
    const mail = await mailTo(ownerPage, invitee.email);
    // A long Subject is folded onto continuation lines (RFC 5322): unfolded, it names the organization.
    const headers = mail.raw.slice(0, mail.raw.indexOf("\r\n\r\n")).replace(/\r\n[ \t]+/g, " ");
    expect(/^Subject: (.*)$/m.exec(headers)?.[1]).toBe(`${owner.email} invited you to ${name} on Tollgate`);
    const link = /https?:\/\/\S+\/invite\/([A-Za-z0-9_-]{43})/.exec(decoded(mail.raw));
    expect(link, "the invitation link in the email").not.toBeNull();
    const invitePath = new URL(link![0]).pathname;

    // 4. The teammate opens the link signed out, signs in with the invited email and accepts.
    const teamContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const teamPage = await teamContext.newPage();
    await teamPage.goto(invitePath);
    await expect(teamPage.getByTestId("invite-card")).toContainText(`Join ${name}`);
    await expect(teamPage.getByTestId("invite-role")).toHaveText("member");
    await snap(teamPage, "org-05-invite-signed-out");
    await teamPage.getByRole("link", { name: `Sign in as ${invitee.email}` }).click();
    await teamPage.getByLabel("Email").fill(invitee.email);
    await teamPage.getByLabel("Password").fill(PASSWORD);
    await teamPage.getByRole("button", { name: "Sign in" }).click();
    await expect(teamPage).toHaveURL(new RegExp(`${invitePath}$`));
    await snap(teamPage, "org-06-invite-signed-in");
    await teamPage.getByRole("button", { name: `Accept and join ${name}` }).click();
    await expect(teamPage).toHaveURL(new RegExp(`/orgs/${slug}$`));
    await expect(teamPage.getByTestId("org-role")).toContainText("member");

    // 5. The teammate creates an organization key on its Keys tab; the secret is shown once.
    await teamPage.getByRole("link", { name: "Keys", exact: true }).click();
    await teamPage.getByRole("button", { name: "New key" }).click();
    await teamPage.getByLabel("Name").fill("team-script");
    await teamPage.getByRole("button", { name: "Create key" }).click();
    const shown = teamPage.getByTestId("new-key-secret");
    await expect(shown).toHaveText(/^tg_/);
    const secret = (await shown.textContent())!.trim();
    await snap(teamPage, "org-07-key-secret");
    await teamPage.getByRole("button", { name: "Done" }).click();
    await expect(teamPage.getByTestId("key-row-team-script")).toContainText(secret.slice(0, 11));

    // 6. The teammate's app calls the gateway with it, as any app does.
    const client = new OpenAI({ baseURL: process.env.E2E_GATEWAY_URL, apiKey: secret, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: "fake-small",
      messages: [{ role: "user", content: "hello from an organization key" }],
      max_tokens: 6,
    });
    expect(completion.choices[0]!.message.content).toBeTruthy();
    let chargedMicros = 0n;
    await expect
      .poll(
        async () => {
          const [row] = await sql<{ revenue: bigint; account: string; user: string }[]>`
            select e.revenue_micros as revenue, e.account_id as account, k.user_id as "user"
            from usage_events e join api_keys k on k.id = e.key_id
            where k.prefix = ${secret.slice(0, 11)}`;
          if (!row) return null;
          chargedMicros = row.revenue;
          return { account: row.account, user: row.user };
        },
        { timeout: 30_000 },
      )
      .toEqual({ account: expect.any(String), user: invitee.userId });
    expect(chargedMicros).toBeGreaterThan(0n);

    // 7. The owner sees the call and its exact charge attributed to the teammate, on the overview.
    await ownerPage.getByRole("link", { name: "Overview", exact: true }).click();
    const teammateRow = ownerPage.locator(`[data-testid=org-member-spend][data-email="${invitee.email}"]`);
    await expect(teammateRow).toBeVisible();
    await expect(teammateRow.getByRole("cell").nth(1)).toHaveText("1");
    await expect(teammateRow.getByTestId("org-member-charged").locator("[data-micros]")).toHaveAttribute(
      "data-micros",
      chargedMicros.toString(),
    );
    await expect(ownerPage.getByTestId("org-spend-month")).toHaveAttribute(
      "data-micros",
      chargedMicros.toString(),
    );
    await expect(ownerPage.getByTestId("org-by-key")).toContainText("team-script");
    await expect(ownerPage.getByTestId("org-by-key")).toContainText(invitee.email);
    await expect(ownerPage.getByTestId("org-by-model")).toContainText("fake-small");
    await expect(ownerPage.getByTestId("org-member-chart")).toBeVisible();
    // The organization paid: $5.00 less the charge; the teammate's own balance did not move.
    await expect(ownerPage.getByTestId("org-balance")).toHaveText(displayMicros(5_000_000n - chargedMicros));
    const [own] = await sql<{ balance: bigint }[]>`
      select balance_micros as balance from accounts where owner_user_id = ${invitee.userId}`;
    expect(own!.balance).toBe(3_000_000n);
    await snap(ownerPage, "org-08-overview-attributed");

    // The teammate's view: their own spend, and the switcher takes "My API keys" into the organization.
    await teamPage.getByRole("link", { name: "Overview", exact: true }).click();
    await expect(teamPage.getByTestId("org-spend-own")).toBeVisible();
    await navLink(teamPage, "My API keys").click();
    await teamPage.getByTestId("org-switcher").click();
    await teamPage.getByTestId(`org-switch-${slug}`).click();
    await expect(teamPage).toHaveURL(new RegExp(`/account/keys\\?org=${slug}$`));
    await expect(teamPage.getByRole("heading", { name: `API keys · ${name}` })).toBeVisible();
    await expect(teamPage.getByTestId("key-row-team-script")).toBeVisible();
    await expect(teamPage.getByTestId("key-row-invitee's own key")).toHaveCount(0);
    await snap(teamPage, "org-09-switcher-keys");

    // The owner's members page: the teammate with their spend today, the invitation gone from pending.
    await ownerPage.getByRole("link", { name: "Members", exact: true }).click();
    const member = ownerPage.locator(`[data-testid=member-row][data-email="${invitee.email}"]`);
    await expect(member.getByTestId("member-today")).toContainText(displayMicros(chargedMicros));
    await expect(ownerPage.getByTestId("invitation-row")).toHaveCount(0);
    await snap(ownerPage, "org-10-members");
    await ownerContext.close();
    await teamContext.close();
  } finally {
    await sql.end();
  }
});

test("owners manage members, caps, settings and ownership; a member sees only what their role may use", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  try {
    const { createOrg } = await import("@/lib/orgs/create");
    const { createInvitation } = await import("@/lib/orgs/invitations");
    const person = (prefix: string) =>
      fundedDeveloper(sql, { prefix, keyName: `${prefix} key`, amountMicros: 0n, password: PASSWORD });
    const [owner, member, biller] = [
      await person("mgmt-owner"),
      await person("mgmt-member"),
      await person("mgmt-biller"),
    ];
    const ownerActor = { userId: owner.userId, kind: "user" as const, role: "developer" as const };
    const org = await createOrg(sql, ownerActor, { name: `Initech ${randomUUID().slice(0, 6)}` });
    await sql`
      insert into organization_members (organization_id, user_id, role, invited_by)
      values (${org.id}, ${member.userId}, 'member', ${owner.userId}), (${org.id}, ${biller.userId}, 'billing', ${owner.userId})`;
    const pendingEmail = `pending-${randomUUID().slice(0, 8)}@example.com`;
    await createInvitation(
      sql,
      ownerActor,
      org.slug,
      { email: pendingEmail, role: "member" },
      { pepper: TEST_KEY_PEPPER },
    );

    // A member: no invite, no actions on others, no billing or settings tab (the guardrails and provider keys they
    // are subject to, read-only); the settings page says whose it is.
    const memberContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const memberPage = await memberContext.newPage();
    await signIn(memberPage, member.email, PASSWORD, `/orgs/${org.slug}/members`);
    await expect(memberPage.getByTestId("member-row")).toHaveCount(3);
    await expect(memberPage.getByRole("button", { name: "Invite member" })).toHaveCount(0);
    await expect(memberPage.getByTestId("member-actions")).toHaveCount(0);
    await expect(memberPage.getByTestId("invitations")).toHaveCount(0);
    await expect(memberPage.getByRole("button", { name: "Leave" })).toBeVisible();
    const tabs = memberPage.getByRole("navigation", { name: `${org.name} pages` });
    await expect(tabs.getByRole("link")).toHaveText([
      "Overview",
      "Members",
      "Keys",
      "Guardrails & cache",
      "Provider keys",
    ]);
    await snap(memberPage, "org-20-member-view");
    await memberPage.goto(`/orgs/${org.slug}/settings`);
    await expect(memberPage.getByTestId("org-settings-none")).toContainText("for its owner and admins");

    // The owner sets the member's caps, makes the billing member a member, revokes the pending invitation.
    const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const ownerPage = await ownerContext.newPage();
    await signIn(ownerPage, owner.email, PASSWORD, `/orgs/${org.slug}/members`);
    const memberRow = ownerPage.locator(`[data-testid=member-row][data-email="${member.email}"]`);
    await memberRow.getByTestId("member-actions").click();
    await ownerPage.getByRole("menuitem", { name: "Edit caps" }).click();
    await ownerPage.getByLabel("Daily cap (USD)").fill("1.5");
    await ownerPage.getByLabel("Monthly cap (USD)").fill("20");
    await ownerPage.getByRole("button", { name: "Save caps" }).click();
    await expect(memberRow.getByTestId("member-today")).toContainText("cap $1.50");
    await expect(memberRow.getByTestId("member-month")).toContainText("cap $20.00");
    const [caps] = await sql`
      select daily_cap_micros, monthly_cap_micros from organization_members
      where organization_id = ${org.id} and user_id = ${member.userId}`;
    expect(caps).toEqual({ daily_cap_micros: 1_500_000n, monthly_cap_micros: 20_000_000n });

    const billerRow = ownerPage.locator(`[data-testid=member-row][data-email="${biller.email}"]`);
    await billerRow.getByLabel(`Role of ${biller.email}`).selectOption("member");
    await expect(ownerPage.getByText(`${biller.email} is now member`)).toBeVisible();

    const invitation = ownerPage.locator(`[data-testid=invitation-row][data-email="${pendingEmail}"]`);
    await invitation.getByRole("button", { name: "Revoke" }).click();
    await ownerPage.getByRole("button", { name: "Revoke invitation" }).click();
    await expect(invitation).toHaveCount(0);
    await snap(ownerPage, "org-21-owner-managed");

    // Removing says the member's keys are revoked, and does it.
    await billerRow.getByTestId("member-actions").click();
    await ownerPage.getByRole("menuitem", { name: "Remove" }).click();
    await expect(ownerPage.getByRole("dialog")).toContainText("their keys of it are revoked");
    await ownerPage.getByRole("button", { name: "Remove member" }).click();
    await expect(billerRow).toHaveCount(0);

    // Settings: a daily budget, shown on the overview.
    await ownerPage.getByRole("link", { name: "Settings", exact: true }).click();
    await ownerPage.getByLabel("Daily budget (USD)").fill("10");
    await ownerPage.getByRole("button", { name: "Save settings" }).click();
    await expect(ownerPage.getByText("Settings saved")).toBeVisible();
    await snap(ownerPage, "org-22-settings");
    await ownerPage.getByRole("link", { name: "Overview", exact: true }).click();
    await expect(ownerPage.getByTestId("org-day-charged").locator("..").locator("..")).toContainText(
      "Budget $10.00",
    );

    // The owner hands the organization to the member and stays as an admin.
    await ownerPage.getByRole("link", { name: "Settings", exact: true }).click();
    await ownerPage.getByLabel("New owner").selectOption({ label: `${member.email} (member)` });
    await ownerPage.getByRole("button", { name: "Transfer ownership" }).click();
    await ownerPage.getByRole("dialog").getByRole("button", { name: "Transfer ownership" }).click();
    await expect(ownerPage.getByTestId("org-role")).toContainText("admin");
    await expect(ownerPage.getByTestId("danger-zone")).toHaveCount(0);
    await memberPage.goto(`/orgs/${org.slug}`);
    await expect(memberPage.getByTestId("org-role")).toContainText("owner");

    // A platform admin suspends it; its members are told on its overview.
    const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const adminPage = await adminContext.newPage();
    await signedInAs(adminPage, "admin");
    // Admins have two "Organizations" items: theirs (Account) and every one (Admin).
    await adminPage.getByRole("navigation", { name: "Main" }).locator('a[href="/admin/orgs"]').click();
    await adminPage.getByRole("textbox", { name: "Search organizations" }).fill(org.slug);
    await adminPage.getByTestId(`admin-org-row-${org.slug}`).getByRole("link", { name: org.name }).click();
    await expect(adminPage).toHaveURL(new RegExp(`/admin/orgs/${org.id}$`));
    await adminPage.getByRole("button", { name: "Suspend organization" }).click();
    await adminPage.getByRole("dialog").getByRole("button", { name: "Suspend" }).click();
    await expect(adminPage.getByTestId("org-status")).toContainText("Status: suspended");
    await snap(adminPage, "org-23-admin-suspended");
    await memberPage.reload();
    await expect(memberPage.getByTestId("org-suspended")).toBeVisible();
    await Promise.all([memberContext.close(), ownerContext.close(), adminContext.close()]);
  } finally {
    await sql.end();
  }
});

test("the playground follows the switcher: a turn in an organization is paid by it, within the member's caps", async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  try {
    const { createOrg } = await import("@/lib/orgs/create");
    const { creditAccount } = await import("@/lib/billing/ledger");
    const dev = await fundedDeveloper(sql, {
      prefix: "org-playground",
      keyName: "own key",
      amountMicros: 2_000_000n,
      password: PASSWORD,
    });
    const actor = { userId: dev.userId, kind: "user" as const, role: "developer" as const };
    const org = await createOrg(sql, actor, { name: `Hooli ${randomUUID().slice(0, 6)}` });
    await creditAccount(
      sql,
      { userId: null, kind: "system" },
      {
        accountId: org.account.id,
        amountMicros: 4_000_000n,
        kind: "grant",
        reason: "e2e",
        idempotencyKey: randomUUID(),
      },
    );
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(page, dev.email, PASSWORD, "/playground");
    await expect(page.getByTestId("playground-balance")).toHaveText("$2.00");
    await page.getByTestId("org-switcher").click();
    await page.getByTestId(`org-switch-${org.slug}`).click();
    await expect(page).toHaveURL(new RegExp(`/playground\\?org=${org.slug}$`));
    await expect(page.getByRole("heading", { name: `Playground · ${org.name}` })).toBeVisible();
    await expect(page.getByTestId("playground-balance")).toHaveText("$4.00");
    await page.getByLabel("Model").selectOption("fake-small");
    await page.getByLabel("Message").fill("Hello on the organization's money");
    await page.getByRole("button", { name: "Send" }).click();
    const cost = page.getByTestId("turn-cost").last();
    await expect(cost).toHaveAttribute("data-micros", /^\d+$/, { timeout: 30_000 });
    const micros = BigInt((await cost.getAttribute("data-micros"))!);
    // The organization paid, through its own playground key attributed to the member; their own money did not move.
    const [row] = await sql<{ account: string; purpose: string; revenue: bigint }[]>`
      select e.account_id as account, k.purpose, e.revenue_micros as revenue
      from usage_events e join api_keys k on k.id = e.key_id where e.key_id in (select id from api_keys where user_id = ${dev.userId})`;
    expect(row).toEqual({ account: org.account.id, purpose: "playground", revenue: micros });
    await expect(page.getByTestId("playground-balance")).toHaveAttribute(
      "data-micros",
      String(4_000_000n - micros),
    );
    const [own] = await sql<{ balance: bigint }[]>`
      select balance_micros as balance from accounts where id = ${dev.accountId}`;
    expect(own!.balance).toBe(2_000_000n);
    // The chat is saved in the organization's playground.
    const saved = page.getByTestId("conversation-list").getByTestId("conversation-title");
    await expect(saved).toHaveText(["Hello on the organization's money"]);
    await snap(page, "org-30-playground");
    // Personal again: the same page, the person's own balance, and the organization's chat is not among theirs.
    await page.getByTestId("org-switcher").click();
    await page.getByTestId("org-switch-personal").click();
    await expect(page).toHaveURL(/\/playground$/);
    await expect(page.getByTestId("playground-balance")).toHaveText("$2.00");
    await expect(page.getByTestId("conversation-list")).toContainText("Your chats are saved here");
    await expect(saved).toHaveCount(0);
    const [conversation] = await sql<{ account: string | null }[]>`
      select account_id as account from playground_conversations where user_id = ${dev.userId}`;
    expect(conversation).toEqual({ account: org.account.id });
  } finally {
    await sql.end();
  }
});
