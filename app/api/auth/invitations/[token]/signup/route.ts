import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { sessionCookie } from "@/lib/http/cookies";
import { AppError, notFound } from "@/lib/http/errors";
import { route } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { signUpByInvitation } from "@/lib/orgs/invitation-signup";
import { invitationSignupBody, invitationToken } from "@/lib/orgs/schemas";
import { assertSameOriginMutation } from "@/lib/security/origin";

/**
 * Sign-up by invitation: creates the invited email's account (name, password) from a pending invitation link, joins
 * the organization with the invited role and signs the new user in. No session needed; Origin checked like sign-in.
 */
export const POST = route(async ({ req, ip, params, requestId }) => {
  // A cross-site form must not create an account and sign the victim's browser into it.
  assertSameOriginMutation(req);
  const cfg = config();
  if (cfg.AUTH_PROVIDER !== "local") {
    throw new AppError(
      "bad_request",
      "Accounts are created through Supabase in this deployment: sign in with the invited email, then open the invitation link again to accept it.",
    );
  }
  const token = invitationToken.safeParse(params.token);
  if (!token.success) throw notFound("Invitation");
  const input = await parseJson(req, invitationSignupBody, 8 * 1024);
  const result = await signUpByInvitation(
    db(),
    token.data,
    input,
    { ip, userAgent: req.headers.get("user-agent") ?? "", requestId },
    {
      pepper: cfg.KEY_PEPPER,
      ttlHours: cfg.SESSION_TTL_HOURS,
      limits: {
        perIp: cfg.LOGIN_MAX_ATTEMPTS_PER_IP,
        perToken: cfg.LOGIN_MAX_ATTEMPTS_PER_EMAIL,
        windowSeconds: cfg.LOGIN_WINDOW_SECONDS,
      },
    },
  );
  const headers = new Headers();
  headers.append("set-cookie", sessionCookie(result.token, result.expiresAt));
  return json(
    { user: result.user, organization: result.organization, role: result.role },
    { status: 201, headers },
  );
});
