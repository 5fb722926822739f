// Security headers: the static ones go on every response (next.config.ts), the CSP with a fresh nonce on
// every page (proxy.ts). Kept free of server-only imports: next.config.ts and proxy.ts both load it.

/** On every response, pages, API routes and static files alike. */
export const STATIC_SECURITY_HEADERS: { key: string; value: string }[] = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  // frame-ancestors in the CSP says the same to browsers that read it; this covers those that do not.
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  {
    key: "Permissions-Policy",
    value: "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()",
  },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
];

export const HSTS = "max-age=63072000; includeSubDomains";

/**
 * The dashboard's Content-Security-Policy: scripts only from us with this response's nonce (Next.js puts it
 * on its own scripts; 'strict-dynamic' lets them load their chunks), nothing framed, nothing framing us,
 * forms and fetches to ourselves (and Supabase's auth API when it signs users in).
 */
export function contentSecurityPolicy({
  nonce,
  dev,
  connect = [],
}: {
  nonce: string;
  dev: boolean;
  connect?: string[];
}): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // Inline style attributes (charts, popovers) cannot carry nonces.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${connect.length ? ` ${connect.join(" ")}` : ""}${dev ? " ws: wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "frame-src 'none'",
  ].join("; ");
}
