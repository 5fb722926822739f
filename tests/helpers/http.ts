import type { RouteHandler } from "@/lib/http/handler";

export interface CallOptions {
  method?: string;
  path?: string;
  body?: unknown;
  /** The Origin header: the dashboard's own by default (as a browser sends it); null sends none. */
  origin?: string | null;
  /** Raw body text (sent as is, for malformed-input tests). */
  raw?: string;
  contentType?: string | null;
  cookie?: string;
  headers?: Record<string, string>;
  params?: Record<string, string>;
}

export interface CallResult {
  status: number;
  body: any;
  headers: Headers;
}

/** Calls a route handler the way Next.js does, with a real Request. */
export async function call(handler: RouteHandler, options: CallOptions = {}): Promise<CallResult> {
  const headers = new Headers(options.headers);
  headers.set("x-forwarded-for", headers.get("x-forwarded-for") ?? "127.0.0.1");
  if (options.origin !== null && !headers.has("origin"))
    headers.set("origin", options.origin ?? "http://localhost:3000");
  if (options.cookie) headers.set("cookie", options.cookie);
  let body: string | undefined = options.raw;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && options.contentType !== null) {
    headers.set("content-type", options.contentType ?? "application/json");
  }
  const req = new Request(`http://localhost${options.path ?? "/"}`, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
  const res = await handler(req, { params: Promise.resolve(options.params ?? {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers };
}

/** The session cookie pair from a login response's Set-Cookie. */
export function sessionCookieFrom(res: CallResult): string {
  const setCookie = res.headers.get("set-cookie") ?? "";
  const pair = setCookie.split(";")[0];
  if (!pair?.startsWith("tg_session=")) throw new Error(`no session cookie in: ${setCookie}`);
  return pair;
}
