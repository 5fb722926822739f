import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { redeemCode } from "@/lib/redemptions/codes";
import { redeemBody } from "@/lib/redemptions/schemas";

/** An owner or billing member redeems a code for the organization's account (throttled against guessing per user). */
export const POST = withSession({}, async ({ req, actor, principal, params }) => {
  const { code } = await parseJson(req, redeemBody);
  const cfg = config();
  const result = await redeemCode(db(), { ...actor, userId: principal.userId }, code, {
    pepper: cfg.KEY_PEPPER,
    org: params.org ?? "",
    limits: {
      perUser: cfg.REDEEM_MAX_ATTEMPTS_PER_USER,
      perIp: cfg.REDEEM_MAX_ATTEMPTS_PER_IP,
      windowSeconds: cfg.LOGIN_WINDOW_SECONDS,
    },
  });
  return json(result);
});
