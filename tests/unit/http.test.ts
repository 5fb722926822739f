import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseCookieHeader } from "@/lib/auth";
import { parseJson, readText } from "@/lib/http/body";
import { AppError, ERROR_STATUS } from "@/lib/http/errors";
import { clientIp, requestIdOf } from "@/lib/http/handler";
import { errorResponse, json } from "@/lib/http/respond";

const post = (body: string, type = "application/json") =>
  new Request("http://x/", { method: "POST", headers: { "content-type": type }, body });

describe("error contract", () => {
  it("maps every code to a 4xx/5xx status and answers {error:{code,message}}", async () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(status).toBeGreaterThanOrEqual(400);
      const res = errorResponse(new AppError(code as keyof typeof ERROR_STATUS, "msg"), "req-1");
      expect(res.status).toBe(status);
      expect(res.headers.get("x-request-id")).toBe("req-1");
      expect(await res.json()).toEqual({ error: { code, message: "msg" } });
    }
  });

  it("writes bigint money as exact JSON numbers", async () => {
    const res = json({ balanceMicros: 9_007_199_254_740_991n, small: 12n });
    expect(await res.text()).toBe('{"balanceMicros":9007199254740991,"small":12}');
  });
});

describe("body parsing", () => {
  const schema = z.strictObject({ a: z.number() });

  it("rejects a body over the limit even when Content-Length is absent", async () => {
    await expect(readText(post("x".repeat(2000)), 1000)).rejects.toMatchObject({ code: "payload_too_large" });
  });

  it("distinguishes bad JSON (400), wrong media type (415) and bad fields (422)", async () => {
    await expect(parseJson(post("{"), schema)).rejects.toMatchObject({ code: "invalid_json" });
    await expect(parseJson(post('{"a":1}', "text/plain"), schema)).rejects.toMatchObject({
      code: "unsupported_media_type",
    });
    await expect(parseJson(post('{"a":"1"}'), schema)).rejects.toMatchObject({ code: "validation_failed" });
    await expect(parseJson(post('{"a":1,"b":2}'), schema)).rejects.toMatchObject({
      code: "validation_failed",
    });
    await expect(parseJson(post('{"a":1}'), schema)).resolves.toEqual({ a: 1 });
  });
});

describe("cookies", () => {
  it("parses a Cookie header", () => {
    expect(parseCookieHeader("a=1; tg_session=abc%3D; broken; b=")).toEqual([
      { name: "a", value: "1" },
      { name: "tg_session", value: "abc=" },
      { name: "b", value: "" },
    ]);
  });
});

describe("the client address", () => {
  const req = (headers: Record<string, string>) => new Request("http://x/", { headers });
  it("ignores forwarding headers unless a trusted proxy sets them", () => {
    const spoofed = req({ "x-forwarded-for": "1.2.3.4", "x-real-ip": "5.6.7.8" });
    expect(clientIp(spoofed, { kind: "none" })).toBeNull();
  });
  it("behind N proxies of ours takes the Nth entry from the right, whatever the client prepended", () => {
    const chain = req({ "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.0.0.2" });
    expect(clientIp(chain, { kind: "hops", hops: 1 })).toBe("10.0.0.2");
    expect(clientIp(chain, { kind: "hops", hops: 2 })).toBe("203.0.113.7");
    expect(clientIp(req({ "x-forwarded-for": "10.0.0.2" }), { kind: "hops", hops: 2 })).toBeNull();
  });
  it("on Vercel reads the address Vercel sets", () => {
    expect(clientIp(req({ "x-real-ip": "198.51.100.4" }), { kind: "vercel" })).toBe("198.51.100.4");
  });
  it("drops what is not an address", () => {
    expect(clientIp(req({ "x-forwarded-for": "evil<script>" }), { kind: "hops", hops: 1 })).toBeNull();
  });
});

describe("the request id", () => {
  it("is the caller's uuid (the gateway's call id) or a fresh one; never free text", () => {
    const id = "22222222-2222-4222-8222-222222222222";
    expect(requestIdOf(new Request("http://x/", { headers: { "x-request-id": id } }))).toBe(id);
    const injected = requestIdOf(
      new Request("http://x/", { headers: { "x-request-id": "evil log line: injected" } }),
    );
    expect(injected).toMatch(/^[0-9a-f-]{36}$/);
  });
});
