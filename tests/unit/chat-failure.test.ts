// A failed playground turn crosses the stream as a typed failure (lib/playground/schemas.ts), never as a sentence
// the UI picks apart: the code comes from the gateway's status, the words from its error body.
import { APICallError } from "ai";
import { describe, expect, it } from "vitest";
import { chatFailureOf } from "@/lib/playground/chat";
import { readChatFailure } from "@/lib/playground/schemas";

const gatewayError = (statusCode: number, responseBody?: string) =>
  new APICallError({
    message: `HTTP ${statusCode}`,
    url: "http://gateway.test/v1/chat/completions",
    requestBodyValues: {},
    statusCode,
    responseBody,
  });

describe("chat failures", () => {
  it("names what a developer can do about each gateway status, in the gateway's words", () => {
    const said = (status: number) =>
      chatFailureOf(gatewayError(status, JSON.stringify({ error: { message: `said ${status}` } })));
    expect(said(402)).toEqual({ code: "insufficient_balance", message: "said 402" });
    expect(said(429)).toEqual({ code: "rate_limited", message: "said 429" });
    expect(said(403).code).toBe("model_unavailable");
    expect(said(404).code).toBe("model_unavailable");
    expect(said(502)).toEqual({ code: "provider_failed", message: "said 502" });
    expect(said(400).code).toBe("failed");
    // A body that is not the gateway's error shape: the error's own message.
    expect(chatFailureOf(gatewayError(500, "<html>"))).toEqual({
      code: "provider_failed",
      message: "HTTP 500",
    });
    expect(chatFailureOf(new Error("socket hang up"))).toEqual({ code: "failed", message: "socket hang up" });
  });

  it("reads back what the stream carried; any other text is a plain failure", () => {
    const failure = chatFailureOf(gatewayError(402, JSON.stringify({ error: { message: "Balance $0.00" } })));
    expect(readChatFailure(JSON.stringify(failure))).toEqual(failure);
    expect(readChatFailure("Gateway 402: Balance $0.00")).toEqual({
      code: "failed",
      message: "Gateway 402: Balance $0.00",
    });
    expect(readChatFailure('{"error":{"code":"unauthorized","message":"Sign in."}}').code).toBe("failed");
  });
});
