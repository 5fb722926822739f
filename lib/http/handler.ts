import "server-only";
import { randomUUID } from "node:crypto";
import { authenticate, type Principal } from "@/lib/auth";
import type { Actor, Role } from "@/lib/auth/types";
import { config, type TrustedProxy, trustedProxy } from "@/lib/config";
import { db } from "@/lib/db";
import { type KeyVerdict, verifyKey } from "@/lib/keys/verify";
import { log } from "@/lib/log";
import { metrics, routeLabel } from "@/lib/metrics/registry";
import { assertSameOriginMutation } from "@/lib/security/origin";
import { readText } from "./body";
import { AppError, forbidden, unauthorized } from "./errors";
import { errorResponse } from "./respond";
import { bearer, secretsEqual } from "./secrets";
import { SIGNATURE_HEADER, verifyWebhook } from "./webhook-signature";

export interface RequestContext {
  req: Request;
  requestId: string;
  ip: string | null;
  params: Record<string, string>;
}

type RouteContext = { params: Promise<Record<string, string | string[]>> };
export type RouteHandler = (req: Request, ctx: RouteContext) => Promise<Response>;

/**
 * The client's address, from forwarding headers only when a trusted proxy set them (TRUSTED_PROXY): anyone
 * can send X-Forwarded-For, so by default it is ignored and the address is unknown (null). Behind N proxies
 * of ours, each appends the address it saw: the client is the Nth entry from the right.
 */
export function clientIp(req: Request, proxy: TrustedProxy = trustedProxy()): string | null {
  let ip: string | undefined;
  if (proxy.kind === "vercel") {
    ip = req.headers.get("x-real-ip")?.trim() || req.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  } else if (proxy.kind === "hops") {
    const chain = (req.headers.get("x-forwarded-for") ?? "")
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean);
    ip = chain.length >= proxy.hops ? chain[chain.length - proxy.hops] : undefined;
  }
  if (!ip) return null;
  // inet accepts v4/v6 only; drop anything else (ports, garbage) rather than fail the request.
  return /^[0-9a-fA-F:.]+$/.test(ip) && ip.length <= 45 ? ip.replace(/^::ffff:/, "") : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The request id: the gateway sends its call id (x-request-id) so one call reads the same in the gateway's and
 * the platform's logs; anything that is not a uuid is replaced (a client cannot inject text into our logs).
 */
export function requestIdOf(req: Request): string {
  const given = req.headers.get("x-request-id");
  return given && UUID.test(given) ? given.toLowerCase() : randomUUID();
}

/** The base wrapper: request id, error contract, and logging of unexpected failures without leaking them. */
export function route(fn: (ctx: RequestContext) => Promise<Response>): RouteHandler {
  return async (req, routeCtx) => {
    const requestId = requestIdOf(req);
    const started = performance.now();
    let params: Record<string, string> = {};
    // The path with its dynamic segments named, never their values (tokens, slugs): for metrics and logs.
    const routeOf = () => routeLabel(new URL(req.url).pathname, params);
    const observe = (res: Response) => {
      const labels = { route: routeOf(), method: req.method };
      const m = metrics();
      m.httpRequests.inc({ ...labels, status: String(res.status) });
      m.httpDuration.observe(labels, (performance.now() - started) / 1000);
      return res;
    };
    try {
      const raw = routeCtx?.params ? await routeCtx.params : {};
      params = Object.fromEntries(
        Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v.join("/") : String(v)]),
      );
      const res = await fn({ req, requestId, ip: clientIp(req), params });
      res.headers.set("x-request-id", requestId);
      return observe(res);
    } catch (error) {
      if (error instanceof AppError) return observe(errorResponse(error, requestId));
      log().error({ err: error, requestId, method: req.method, route: routeOf() }, "unhandled error");
      return observe(
        errorResponse(
          new AppError(
            "internal",
            `Something went wrong on our side. Quote request id ${requestId} when reporting it.`,
            {
              requestId,
            },
          ),
          requestId,
        ),
      );
    }
  };
}

export interface SessionContext extends RequestContext {
  principal: Principal;
  /** The principal as domain verbs and the audit log see it. */
  actor: Actor;
}

/** For browser and management-API callers: a signed-in, active user, optionally of one role. */
export function withSession(
  options: { role?: Role },
  fn: (ctx: SessionContext) => Promise<Response>,
): RouteHandler {
  return route(async (ctx) => {
    const principal = await authenticate(ctx.req);
    if (!principal) throw unauthorized();
    // A bearer token is never sent by a browser on its own; a cookie is (CSRF). Only Supabase sign-in reads a
    // bearer token: with local sessions the cookie authenticated, whatever Authorization says, so Origin is checked.
    const byBearer = config().AUTH_PROVIDER === "supabase" && bearer(ctx.req) !== null;
    if (!byBearer) assertSameOriginMutation(ctx.req);
    if (options.role && principal.role !== options.role) throw forbidden();
    const actor: Actor = {
      userId: principal.userId,
      kind: "user",
      role: principal.role,
      requestId: ctx.requestId,
      ip: ctx.ip,
    };
    return fn({ ...ctx, principal, actor });
  });
}

/** A caller authenticated by `Authorization: Bearer <secret>`, compared in constant time. */
function withBearerSecret(
  secret: () => string,
  kind: "gateway" | "cron",
  refusal: string,
  fn: (ctx: RequestContext & { actor: Actor }) => Promise<Response>,
): RouteHandler {
  return route(async (ctx) => {
    if (!secretsEqual(bearer(ctx.req), secret())) throw unauthorized(refusal);
    return fn({ ...ctx, actor: { userId: null, kind, requestId: ctx.requestId, ip: ctx.ip } });
  });
}

/**
 * For apps with their own Tollgate key (`Authorization: Bearer tg_…`): the key's verdict, as the gateway gets it. A
 * revoked, expired or unknown key is 401; the handler sees only this key's id and its owner.
 */
export function withApiKey(
  fn: (ctx: RequestContext & { key: Extract<KeyVerdict, { valid: true }>["key"] }) => Promise<Response>,
): RouteHandler {
  return route(async (ctx) => {
    const secret = bearer(ctx.req);
    if (!secret) throw unauthorized("Send your Tollgate API key as Authorization: Bearer tg_….");
    const verdict = await verifyKey(db(), secret, config().KEY_PEPPER);
    if (!verdict.valid) throw unauthorized(verdict.message);
    return fn({ ...ctx, key: verdict.key });
  });
}

/** For the LiteLLM gateway only: `Authorization: Bearer $GATEWAY_SECRET`. */
export function withGateway(fn: (ctx: RequestContext & { actor: Actor }) => Promise<Response>): RouteHandler {
  return withBearerSecret(() => config().GATEWAY_SECRET, "gateway", "Gateway secret missing or wrong.", fn);
}

/** For signed usage webhooks: the raw body is verified (HMAC over "timestamp.body", time window) before parsing. */
export function withWebhook(
  options: { limitBytes: number },
  fn: (ctx: RequestContext & { actor: Actor; body: string }) => Promise<Response>,
): RouteHandler {
  return route(async (ctx) => {
    const body = await readText(ctx.req, options.limitBytes);
    const cfg = config();
    const check = verifyWebhook(cfg.WEBHOOK_SECRET, body, ctx.req.headers.get(SIGNATURE_HEADER), {
      toleranceSeconds: cfg.WEBHOOK_TOLERANCE_SECONDS,
    });
    if (!check.ok) throw new AppError("invalid_signature", `Webhook refused: ${check.reason}.`);
    return fn({
      ...ctx,
      body,
      actor: { userId: null, kind: "gateway", requestId: ctx.requestId, ip: ctx.ip },
    });
  });
}

/** For Vercel cron and the local ticker: `Authorization: Bearer $CRON_SECRET`. */
export function withCron(fn: (ctx: RequestContext & { actor: Actor }) => Promise<Response>): RouteHandler {
  return withBearerSecret(() => config().CRON_SECRET, "cron", "Cron secret missing or wrong.", fn);
}
