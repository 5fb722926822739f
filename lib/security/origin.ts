import "server-only";
import { config } from "@/lib/config";
import { AppError } from "@/lib/http/errors";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The origins the dashboard is served from: APP_URL's, its loopback twin when it is local (localhost and
 * 127.0.0.1 on the same port are the same server), and ALLOWED_ORIGINS.
 */
export function allowedOrigins(): Set<string> {
  const cfg = config();
  const app = new URL(cfg.APP_URL);
  const origins = new Set([app.origin, ...cfg.ALLOWED_ORIGINS]);
  const twin = { localhost: "127.0.0.1", "127.0.0.1": "localhost" }[app.hostname];
  if (twin) origins.add(`${app.protocol}//${twin}${app.port ? `:${app.port}` : ""}`);
  return origins;
}

/**
 * A browser sends cookies with requests other sites start (forms on a same-site page pass SameSite=Lax), so
 * a cookie-authenticated mutation is refused unless its Origin is one of ours, and it may carry only a JSON
 * body (a form cannot send application/json without a CORS preflight). Browsers send Origin on every POST,
 * PUT, PATCH and DELETE; a request without one is not from our pages.
 */
export function assertSameOriginMutation(req: Request): void {
  if (SAFE_METHODS.has(req.method)) return;
  const origin = req.headers.get("origin");
  if (!origin || !allowedOrigins().has(origin)) {
    throw new AppError(
      "cross_site_request",
      origin
        ? `Cross-site request refused: ${origin} is not this dashboard's origin.`
        : "Cross-site request refused: the request has no Origin header.",
    );
  }
  const type = req.headers.get("content-type");
  if (type !== null && !/^application\/json\b/i.test(type)) {
    throw new AppError("unsupported_media_type", "Send the body as application/json.");
  }
}
