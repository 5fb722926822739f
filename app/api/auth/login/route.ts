import { parseCookieHeader } from "@/lib/auth";
import { login } from "@/lib/auth/login";
import { loginSchema } from "@/lib/auth/schemas";
import { DEVICE_COOKIE } from "@/lib/auth/throttle";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { deviceCookie, sessionCookie } from "@/lib/http/cookies";
import { AppError } from "@/lib/http/errors";
import { route } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { assertSameOriginMutation } from "@/lib/security/origin";

export const POST = route(async ({ req, ip }) => {
  // Login CSRF (signing a victim into the attacker's account) is refused like any cross-site mutation.
  assertSameOriginMutation(req);
  const cfg = config();
  if (cfg.AUTH_PROVIDER !== "local") {
    throw new AppError("bad_request", "Password sign-in is handled by Supabase in this deployment.");
  }
  const input = await parseJson(req, loginSchema, 8 * 1024);
  const result = await login(
    db(),
    {
      ...input,
      ip,
      userAgent: req.headers.get("user-agent") ?? "",
      deviceCookie: parseCookieHeader(req.headers.get("cookie")).find((c) => c.name === DEVICE_COOKIE)?.value,
    },
    {
      ttlHours: cfg.SESSION_TTL_HOURS,
      deviceSecret: cfg.SESSION_SECRET,
      throttle: {
        perIp: cfg.LOGIN_MAX_ATTEMPTS_PER_IP,
        perEmail: cfg.LOGIN_MAX_ATTEMPTS_PER_EMAIL,
        perEmailGlobal: cfg.LOGIN_MAX_ATTEMPTS_PER_EMAIL_GLOBAL,
        windowSeconds: cfg.LOGIN_WINDOW_SECONDS,
      },
    },
  );
  const headers = new Headers();
  headers.append("set-cookie", sessionCookie(result.token, result.expiresAt));
  headers.append("set-cookie", deviceCookie(result.deviceCookie));
  return json({ user: result.user }, { headers });
});
