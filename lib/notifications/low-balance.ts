import "server-only";
import { type Account, getAccount } from "@/lib/billing/ledger";
import { formatMicros } from "@/lib/billing/money";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { ORG_VERBS } from "@/lib/orgs/access";
import { mailer } from "./mail";

/**
 * Who is told that an account's balance is low: a person's account its owner; an organization's every active
 * member whose role tops it up (the billing verb: owners and billing members), never its other members.
 */
async function recipientsOf(db: Db, account: Account): Promise<string[]> {
  if (!account.organizationId) return account.ownerEmail ? [account.ownerEmail] : [];
  const rows = await db<{ email: string }[]>`
    select u.email from organization_members m join users u on u.id = m.user_id
    where m.organization_id = ${account.organizationId} and u.status = 'active'
      and m.role = any(${db.array([...ORG_VERBS.billing])}::text[])
    order by u.email`;
  return rows.map((r) => r.email);
}

/**
 * The queue job: one email per recipient (SMTP_URL), each logged in notifications (one row per recipient and
 * attempt). A failure retries the job, which sends only to those this job has not reached yet.
 */
export async function sendLowBalanceEmail(
  db: Db,
  payload: { accountId: string },
  jobId?: string,
): Promise<unknown> {
  const account = await getAccount(db, { id: payload.accountId });
  if (!account) return { skipped: "no account" };
  const recipients = await recipientsOf(db, account);
  if (!recipients.length) return { skipped: "no owner" };
  const available = account.balanceMicros - account.heldMicros;
  const cfg = config();
  const org = account.organizationName;
  const subject = org
    ? `${org}'s Tollgate balance is low: ${formatMicros(available)} left`
    : `Your Tollgate balance is low: ${formatMicros(available)} left`;
  const log = (recipient: string, status: "sent" | "failed" | "skipped", error: string | null = null) => db`
    insert into notifications (account_id, kind, recipient, subject, status, error, job_id)
    values (${account.id}, 'low_balance', ${recipient}, ${subject}, ${status}, ${error}, ${jobId ?? null})`;
  if (!cfg.SMTP_URL) {
    for (const recipient of recipients) await log(recipient, "skipped", "SMTP_URL is not set");
    return { skipped: "SMTP off" };
  }
  const appUrl = cfg.APP_URL.replace(/\/$/, "");
  const billing = account.organizationSlug
    ? `${appUrl}/orgs/${account.organizationSlug}/billing`
    : `${appUrl}/account/billing`;
  const text = [
    org
      ? `The available balance of ${org} is ${formatMicros(available)}, below its alert threshold of ${formatMicros(account.lowBalanceMicros)}.`
      : `Your available balance is ${formatMicros(available)}, below your alert threshold of ${formatMicros(account.lowBalanceMicros)}.`,
    org
      ? `Calls on ${org}'s keys are refused with 402 once it cannot cover their worst case.`
      : "Calls are refused with 402 once it cannot cover their worst case.",
    "",
    `Top up or redeem a code: ${billing}`,
    "",
    "You get this once each time the balance falls below the threshold.",
  ].join("\n");
  // A retried job skips whom it already reached.
  const reached = jobId
    ? new Set(
        (
          await db<{ recipient: string }[]>`
            select recipient from notifications
            where job_id = ${jobId} and kind = 'low_balance' and status = 'sent'`
        ).map((r) => r.recipient),
      )
    : new Set<string>();
  let failure: unknown = null;
  const sent: string[] = [];
  for (const recipient of recipients) {
    if (reached.has(recipient)) continue;
    try {
      await mailer(cfg.SMTP_URL).sendMail({ from: cfg.SMTP_FROM, to: recipient, subject, text });
      await log(recipient, "sent");
      sent.push(recipient);
    } catch (error) {
      await log(recipient, "failed", (error as Error).message.slice(0, 500));
      failure ??= error;
    }
  }
  if (failure) throw failure;
  return { sent };
}
