import { type NextRequest, NextResponse } from "next/server";
import { contentSecurityPolicy, HSTS } from "@/lib/security/headers";

/**
 * Every request but static assets: pages get a Content-Security-Policy with a fresh nonce (Next.js reads it
 * from the request's CSP header and puts it on its scripts), and https responses get HSTS.
 */
export function proxy(request: NextRequest) {
  const https = request.nextUrl.protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";
  if (request.nextUrl.pathname.startsWith("/api/")) {
    const response = NextResponse.next();
    if (https) response.headers.set("Strict-Transport-Security", HSTS);
    return response;
  }
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  const supabase = process.env.NEXT_PUBLIC_SUPABASE_URL;
  const csp = contentSecurityPolicy({
    nonce,
    dev: process.env.NODE_ENV !== "production",
    connect: supabase ? [new URL(supabase).origin] : [],
  });
  const headers = new Headers(request.headers);
  headers.set("x-nonce", nonce);
  headers.set("Content-Security-Policy", csp);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("Content-Security-Policy", csp);
  if (https) response.headers.set("Strict-Transport-Security", HSTS);
  return response;
}

export const config = {
  matcher: [
    {
      source: "/((?!api/|_next/static|_next/image|favicon.ico).*)",
      // Prefetches reuse the page's response; they need no nonce of their own.
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
