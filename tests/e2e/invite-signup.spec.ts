// Sign-up by invitation in the browser (issue 25): a visitor who is not signed in opens an invitation link for an
// email that has no account, creates it on the invitation page (name, password, repeated), lands on the
// organization's page signed in as a member, and the link then says it was used. An invited email that has an account
// is asked to sign in instead.
import { randomUUID } from "node:crypto";
import { expect, test } from "@playwright/test";
import { createClient } from "@/lib/db/client";
import { createInvitation } from "@/lib/orgs/invitations";
import { ORG_INVITE_EMAIL_JOB } from "@/lib/orgs/jobs";
import { TEST_KEY_PEPPER } from "../stack/start";
import { fundedDeveloper, snap } from "./helpers";

test("an invited email without an account signs up on the invitation page and lands in the organization", async ({
  browser,
}) => {
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  try {
    const { createOrg } = await import("@/lib/orgs/create");
    const owner = await fundedDeveloper(sql, {
      prefix: "invite-owner",
      keyName: "owner key",
      amountMicros: 0n,
    });
    const ownerActor = { userId: owner.userId, kind: "user" as const, role: "developer" as const };
    const org = await createOrg(sql, ownerActor, { name: `Signup Org ${randomUUID().slice(0, 6)}` });
    const invite = async (email: string) => {
      const inv = await createInvitation(
        sql,
        ownerActor,
        org.slug,
        { email, role: "member" },
        { pepper: TEST_KEY_PEPPER },
      );
      const [job] = await sql<{ payload: { token: string } }[]>`
        select payload from queue_jobs where name = ${ORG_INVITE_EMAIL_JOB} and payload->>'invitationId' = ${inv.id}`;
      return job!.payload.token;
    };
    const email = `invitee-${randomUUID().slice(0, 8)}@example.com`;
    const token = await invite(email);

    const page = await (await browser.newContext()).newPage();
    await page.goto(`/invite/${token}`);
    await expect(page.getByTestId("invite-message")).toHaveText(
      `There is no Tollgate account for ${email} yet: create it to join ${org.name}.`,
    );
    const form = page.getByTestId("invite-signup-form");
    await expect(form.getByLabel("Email")).toHaveValue(email);
    await form.getByLabel("Your name").fill("Ivy Invitee");
    await form.getByLabel("Password", { exact: true }).fill("ivy-password-123456");
    await form.getByLabel("Repeat the password").fill("ivy-password-12345");
    await form.getByRole("button", { name: `Create account and join ${org.name}` }).click();
    await expect(form.getByText("does not match the password")).toBeVisible();
    await form.getByLabel("Repeat the password").fill("ivy-password-123456");
    await expect(form.getByText("does not match the password")).toHaveCount(0);
    await snap(page, "invite-signup-01-form");
    await form.getByRole("button", { name: `Create account and join ${org.name}` }).click();
    await expect(page).toHaveURL(new RegExp(`/orgs/${org.slug}$`));
    await expect(page.getByRole("heading", { name: org.name })).toBeVisible();
    await snap(page, "invite-signup-02-organization");
    const [member] = await sql`
      select m.role from organization_members m join users u on u.id = m.user_id
      where m.organization_id = ${org.id} and u.email = ${email}`;
    expect(member).toEqual({ role: "member" });

    // The link worked once.
    await page.goto(`/invite/${token}`);
    await expect(page.getByTestId("invite-message")).toContainText("already been used");

    // An invited email with an account is asked to sign in, not to sign up.
    const other = await fundedDeveloper(sql, { prefix: "invitee-has", keyName: "k", amountMicros: 0n });
    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(`/invite/${await invite(other.email)}`);
    await expect(visitor.getByTestId("invite-message")).toHaveText(`Sign in as ${other.email} to accept it.`);
    await expect(visitor.getByTestId("invite-signup-form")).toHaveCount(0);
    await snap(visitor, "invite-signup-03-has-account");
  } finally {
    await sql.end();
  }
});
