import "server-only";
import { getAccount } from "@/lib/billing/ledger";
import { formatMicros } from "@/lib/billing/money";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { mailer } from "./mail";

/** The queue job: one email to the account's owner (SMTP_URL), logged in notifications; a failure retries. */
export async function sendLowBalanceEmail(
  db: Db,
  payload: { accountId: string },
  jobId?: string,
): Promise<unknown> {
  const account = await getAccount(db, { id: payload.accountId });
  if (!account?.ownerEmail) return { skipped: "no owner" };
  const [threshold] = await db<{ micros: bigint }[]>`
    select coalesce(a.low_balance_micros, s.low_balance_micros) as micros
    from accounts a, billing_settings s where a.id = ${account.id}`;
  const available = account.balanceMicros - account.heldMicros;
  const cfg = config();
  const subject = `Your Tollgate balance is low: ${formatMicros(available)} left`;
  const log = (status: "sent" | "failed" | "skipped", error: string | null = null) => db`
    insert into notifications (account_id, kind, recipient, subject, status, error, job_id)
    values (${account.id}, 'low_balance', ${account.ownerEmail}, ${subject}, ${status}, ${error}, ${jobId ?? null})`;
  if (!cfg.SMTP_URL) {
    await log("skipped", "SMTP_URL is not set");
    return { skipped: "SMTP off" };
  }
  const billing = `${cfg.APP_URL.replace(/\/$/, "")}/account/billing`;
  try {
    await mailer(cfg.SMTP_URL).sendMail({
      from: cfg.SMTP_FROM,
      to: account.ownerEmail,
      subject,
      text: [
        `Your available balance is ${formatMicros(available)}, below your alert threshold of ${formatMicros(threshold!.micros)}.`,
        "Calls are refused with 402 once it cannot cover their worst case.",
        "",
        `Top up or redeem a code: ${billing}`,
        "",
        "You get this once each time the balance falls below the threshold.",
      ].join("\n"),
    });
  } catch (error) {
    await log("failed", (error as Error).message.slice(0, 500));
    throw error;
  }
  await log("sent");
  return { sent: account.ownerEmail };
}
