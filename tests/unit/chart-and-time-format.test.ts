import { describe, expect, it } from "vitest";
import { percentTick, SERIES } from "@/components/charts/palette";
import { formatUtc, formatUtcDay } from "@/lib/utils";

describe("the console's one date format", () => {
  it("shows an instant as YYYY-MM-DD HH:MM UTC, whatever the browser's time zone", () => {
    expect(formatUtc("2026-12-04T19:11:42.123Z")).toBe("2026-12-04 19:11 UTC");
    expect(formatUtc("2026-12-04T21:11:00+02:00")).toBe("2026-12-04 19:11 UTC");
    expect(formatUtc(new Date(Date.UTC(2026, 0, 1, 0, 0)))).toBe("2026-01-01 00:00 UTC");
    expect(formatUtcDay("2026-12-04T23:59:59Z")).toBe("2026-12-04");
  });

  it("leaves text that is not an instant as it is instead of printing Invalid Date", () => {
    expect(formatUtc("not a date")).toBe("not a date");
  });
});

describe("charts", () => {
  it("give revenue, cost, margin, calls, errors, cache hits and savings a colour each", () => {
    const colours = Object.values(SERIES).map((s) => s.color);
    expect(new Set(colours).size).toBe(colours.length);
  });

  it("label a percentage axis short enough to fit it", () => {
    expect(percentTick(14.285714)).toBe("14%");
    expect(percentTick(2.857142)).toBe("2.9%");
    expect(percentTick(5)).toBe("5%");
    expect(percentTick(0)).toBe("0%");
  });
});
