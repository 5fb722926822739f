import { describe, expect, it } from "vitest";
import { json, toJsonText } from "@/lib/http/respond";

describe("money crossing JSON", () => {
  it("is an exact number up to 2^53 − 1 and negative likewise", async () => {
    const max = 2n ** 53n - 1n;
    expect(JSON.parse(toJsonText({ balanceMicros: max, debtMicros: -max }))).toEqual({
      balanceMicros: 9_007_199_254_740_991,
      debtMicros: -9_007_199_254_740_991,
    });
    const res = json({ at: new Date("2026-11-24T00:00:00Z"), amountMicros: 125n });
    expect(await res.json()).toEqual({ at: "2026-11-24T00:00:00.000Z", amountMicros: 125 });
  });

  it("is refused beyond 2^53 rather than rounded or turned into a string", () => {
    expect(() => toJsonText({ balanceMicros: 2n ** 53n })).toThrow(/balanceMicros .* beyond 2\^53/);
    expect(() => toJsonText({ items: [{ heldMicros: -(2n ** 53n) }] })).toThrow(RangeError);
  });
});
