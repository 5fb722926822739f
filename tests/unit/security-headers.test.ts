import { NextRequest } from "next/server";
import { describe, expect, it } from "vitest";
import { proxy } from "@/proxy";

describe("the page proxy's security headers", () => {
  it("runs on pages only: API routes (the gateway's hot path among them) skip it", async () => {
    const { config } = await import("@/proxy");
    const source = new RegExp(`^${config.matcher[0]!.source}$`);
    expect(source.test("/account")).toBe(true);
    expect(source.test("/api/internal/gateway/holds")).toBe(false);
    expect(source.test("/api/v1/keys")).toBe(false);
  });

  it("gives every page a CSP with a fresh nonce that Next.js also sees on the request", () => {
    const first = proxy(new NextRequest("http://localhost:3000/login"));
    const second = proxy(new NextRequest("http://localhost:3000/login"));
    const csp = first.headers.get("content-security-policy")!;
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toBe(second.headers.get("content-security-policy"));
    // The nonce reaches the rendering (x-middleware-request-* carries the rewritten request headers).
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    expect(first.headers.get("x-middleware-request-x-nonce")).toBe(nonce);
  });

  it("adds HSTS only over https", () => {
    expect(
      proxy(new NextRequest("http://localhost:3000/")).headers.get("strict-transport-security"),
    ).toBeNull();
    const https = proxy(new NextRequest("https://tollgate.example/account"));
    expect(https.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
    const behindProxy = proxy(
      new NextRequest("http://internal/login", { headers: { "x-forwarded-proto": "https" } }),
    );
    expect(behindProxy.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
  });
});
