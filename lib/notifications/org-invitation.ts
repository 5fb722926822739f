import "server-only";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { mailer } from "./mail";

export interface InvitationEmailPayload {
  invitationId: string;
  /** The link's token: only here and in the email; dropped from the job once sent (or once there is no point). */
  token?: string;
}

/** Drops the token from the job's payload, so the queue keeps no usable link once the email is out. */
async function forgetToken(db: Db, jobId: string | undefined) {
  if (jobId) await db`update queue_jobs set payload = payload - 'token' where id = ${jobId}::bigint`;
}

/**
 * The queue job ORG_INVITE_EMAIL_JOB: emails the invitation link `${APP_URL}/invite/<token>` through SMTP_URL and
 * logs the outcome in notifications (kind 'org_invitation'); an SMTP failure throws, so the queue retries with the
 * token still in the payload. An invitation no longer pending (accepted, revoked, expired) is not sent.
 */
export async function sendInvitationEmail(
  db: Db,
  payload: InvitationEmailPayload,
  jobId?: string,
): Promise<unknown> {
  if (!payload.token) return { skipped: "no token: sent already, or revoked before it was sent" };
  const [inv] = await db<
    {
      email: string;
      role: string;
      expiresAt: Date;
      pending: boolean;
      accountId: string;
      organizationName: string;
      inviter: string | null;
    }[]
  >`
    select i.email, i.role, i.expires_at as "expiresAt",
           (i.accepted_at is null and i.revoked_at is null and i.expires_at > tollgate_now()) as pending,
           a.id as "accountId", o.name as "organizationName",
           coalesce(nullif(ib.name, ''), ib.email) as inviter
    from organization_invitations i join organizations o on o.id = i.organization_id
    join accounts a on a.organization_id = o.id left join users ib on ib.id = i.invited_by
    where i.id = ${payload.invitationId}`;
  if (!inv?.pending) {
    await forgetToken(db, jobId);
    return { skipped: inv ? "no longer pending" : "no such invitation" };
  }
  const cfg = config();
  const subject = `${inv.inviter ?? "Someone"} invited you to ${inv.organizationName} on Tollgate`;
  const log = (status: "sent" | "failed" | "skipped", error: string | null = null) => db`
    insert into notifications (account_id, kind, recipient, subject, status, error, job_id)
    values (${inv.accountId}, 'org_invitation', ${inv.email}, ${subject}, ${status}, ${error}, ${jobId ?? null})`;
  if (!cfg.SMTP_URL) {
    await log("skipped", "SMTP_URL is not set");
    await forgetToken(db, jobId);
    return { skipped: "SMTP off" };
  }
  const link = `${cfg.APP_URL.replace(/\/$/, "")}/invite/${payload.token}`;
  try {
    await mailer(cfg.SMTP_URL).sendMail({
      from: cfg.SMTP_FROM,
      to: inv.email,
      subject,
      text: [
        `${inv.inviter ?? "Someone"} invited you to join ${inv.organizationName} on Tollgate as ${inv.role === "admin" ? "an admin" : `a ${inv.role}`}.`,
        "",
        `Accept the invitation: ${link}`,
        "",
        `Sign in as ${inv.email} to accept it. The link works once and expires on ${inv.expiresAt.toISOString().slice(0, 16).replace("T", " ")} UTC.`,
        // No public sign-up: with local sign-in the link creates the invited email's account (sign-up by
        // invitation); with Supabase an administrator provisions users (README, Sign-in).
        cfg.AUTH_PROVIDER === "local"
          ? `No Tollgate account yet? Open the link to create one for ${inv.email}.`
          : `No Tollgate account yet? Ask a Tollgate administrator to create one for ${inv.email}, then open the link.`,
        "If you did not expect this invitation, ignore this email.",
      ].join("\n"),
    });
  } catch (error) {
    await log("failed", (error as Error).message.slice(0, 500));
    // Retried with the token; a job that dies drops it (lib/queue: a dead job keeps no payload token), and the
    // inviter sees the failed send and invites again.
    throw error;
  }
  await log("sent");
  await forgetToken(db, jobId);
  return { sent: inv.email };
}
