// The price form's cache-hit price: a percentage with at most two decimals is exactly a number of basis points,
// and the price book shows basis points back as that percentage.
import { describe, expect, it } from "vitest";
import { bpsPercent, parsePercentBps } from "@/components/billing/format";

describe("cache-hit percentages", () => {
  it.each([
    ["0", 0],
    ["10", 1000],
    ["100", 10_000],
    ["12.5", 1250],
    ["12.34 %", 1234],
    ["0.01", 1],
    ["33,33", 3333],
  ])("reads %j as %i basis points", (text, bps) => {
    expect(parsePercentBps(text)).toBe(bps);
  });

  it.each(["", "100.01", "101", "-1", "1.234", "ten", "1e2"])("refuses %j", (text) => {
    expect(parsePercentBps(text)).toBeNull();
  });

  it("shows basis points as the percentage they are, and every two-decimal percentage round-trips", () => {
    expect([0, 1, 1000, 1250, 3333, 10_000].map(bpsPercent)).toEqual([
      "0 %",
      "0.01 %",
      "10 %",
      "12.5 %",
      "33.33 %",
      "100 %",
    ]);
    for (let bps = 0; bps <= 10_000; bps++) expect(parsePercentBps(bpsPercent(bps))).toBe(bps);
  });
});
