import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";

const valid = {
  DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
  SESSION_SECRET: "s".repeat(40),
  GATEWAY_SECRET: "g".repeat(40),
  KEY_PEPPER: "p".repeat(40),
  WEBHOOK_SECRET: "w".repeat(40),
  CRON_SECRET: "c".repeat(40),
};

describe("config", () => {
  it("parses a minimal environment with defaults", () => {
    const cfg = parseConfig(valid);
    expect(cfg.AUTH_PROVIDER).toBe("local");
    expect(cfg.SESSION_TTL_HOURS).toBe(168);
    expect(cfg.DATABASE_PREPARE).toBe(true);
  });

  it("names every missing or malformed variable", () => {
    try {
      parseConfig({ DATABASE_URL: "mysql://nope", SESSION_TTL_HOURS: "soon" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain("DATABASE_URL");
      expect(message).toContain("SESSION_SECRET");
      expect(message).toContain("SESSION_TTL_HOURS");
      expect(message).toContain("GATEWAY_SECRET");
    }
  });

  it("requires the Supabase settings when AUTH_PROVIDER=supabase", () => {
    expect(() => parseConfig({ ...valid, AUTH_PROVIDER: "supabase" })).toThrow(/NEXT_PUBLIC_SUPABASE_URL/);
    expect(
      parseConfig({
        ...valid,
        AUTH_PROVIDER: "supabase",
        NEXT_PUBLIC_SUPABASE_URL: "https://abc.supabase.co",
        NEXT_PUBLIC_SUPABASE_ANON_KEY: "anon",
      }).AUTH_PROVIDER,
    ).toBe("supabase");
  });

  it("derives the public gateway URL from LITELLM_URL unless given", async () => {
    const { gatewayPublicUrl } = await import("@/lib/config");
    expect(gatewayPublicUrl(parseConfig({ ...valid, LITELLM_URL: "http://gw:4000/" }))).toBe(
      "http://gw:4000/v1",
    );
    expect(
      gatewayPublicUrl(parseConfig({ ...valid, GATEWAY_PUBLIC_URL: "https://llm.example.com/v1" })),
    ).toBe("https://llm.example.com/v1");
  });

  it("turns off prepared statements for transaction poolers", () => {
    expect(parseConfig({ ...valid, DATABASE_PREPARE: "false" }).DATABASE_PREPARE).toBe(false);
  });
});
