import "server-only";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { ORG_VERBS } from "@/lib/orgs/access";
import { mailer } from "./mail";

/**
 * The queue job after Tollgate switched a customer webhook endpoint off (lib/webhooks/deliver.ts): a notice in
 * notifications for each of its owners (a person; an organization's members whose role manages webhooks), mailed when
 * SMTP_URL is set. A retried job skips whom it already reached.
 */
export async function sendWebhookDisabledEmail(
  db: Db,
  payload: { endpointId: string; cause?: "failures" | "maker" },
  jobId?: string,
): Promise<unknown> {
  const [endpoint] = await db<
    {
      accountId: string;
      url: string;
      reason: string | null;
      orgId: string | null;
      orgName: string | null;
      orgSlug: string | null;
      ownerEmail: string | null;
    }[]
  >`
    select w.account_id::text as "accountId", w.url, w.disabled_reason as reason, o.id::text as "orgId",
           o.name as "orgName", o.slug as "orgSlug", u.email as "ownerEmail"
    from webhook_endpoints w join accounts a on a.id = w.account_id
    left join organizations o on o.id = a.organization_id left join users u on u.id = a.owner_user_id
    where w.id = ${payload.endpointId}`;
  if (!endpoint) return { skipped: "endpoint deleted" };
  const recipients = endpoint.orgId
    ? (
        await db<{ email: string }[]>`
          select u.email from organization_members m join users u on u.id = m.user_id
          where m.organization_id = ${endpoint.orgId} and u.status = 'active'
            and m.role = any(${db.array([...ORG_VERBS.webhooks])}::text[])
          order by u.email`
      ).map((r) => r.email)
    : endpoint.ownerEmail
      ? [endpoint.ownerEmail]
      : [];
  const cfg = config();
  const appUrl = cfg.APP_URL.replace(/\/$/, "");
  const page = endpoint.orgSlug
    ? `${appUrl}/orgs/${endpoint.orgSlug}/webhooks`
    : `${appUrl}/account/webhooks`;
  const subject = `Tollgate switched off a webhook endpoint${endpoint.orgName ? ` of ${endpoint.orgName}` : ""}`;
  const text = [
    ...(payload.cause === "maker"
      ? [
          `Tollgate switched off the endpoint ${endpoint.url}: the member who made it no longer manages webhooks here.`,
          endpoint.reason ?? "",
          "",
          `If the receiver is still yours, switch the endpoint on (and rotate its secret): ${page}`,
        ]
      : [
          `Deliveries to ${endpoint.url} kept failing, so Tollgate switched the endpoint off.`,
          endpoint.reason ?? "",
          "",
          `Fix the receiver, switch the endpoint on and replay what it missed: ${page}`,
        ]),
  ].join("\n");
  const note = (recipient: string, status: "sent" | "failed" | "skipped", error: string | null = null) => db`
    insert into notifications (account_id, kind, recipient, subject, status, error, job_id)
    values (${endpoint.accountId}, 'webhook_disabled', ${recipient}, ${subject}, ${status}, ${error}, ${jobId ?? null})`;
  if (!cfg.SMTP_URL) {
    for (const recipient of recipients) await note(recipient, "skipped", "SMTP_URL is not set");
    return { skipped: "SMTP off", recipients: recipients.length };
  }
  const reached = new Set(
    jobId
      ? (
          await db<{ recipient: string }[]>`
            select recipient from notifications where job_id = ${jobId} and kind = 'webhook_disabled' and status = 'sent'`
        ).map((r) => r.recipient)
      : [],
  );
  let failure: unknown = null;
  for (const recipient of recipients) {
    if (reached.has(recipient)) continue;
    try {
      await mailer(cfg.SMTP_URL).sendMail({ from: cfg.SMTP_FROM, to: recipient, subject, text });
      await note(recipient, "sent");
    } catch (error) {
      await note(recipient, "failed", (error as Error).message.slice(0, 500));
      failure ??= error;
    }
  }
  if (failure) throw failure;
  return { sent: recipients.length };
}
