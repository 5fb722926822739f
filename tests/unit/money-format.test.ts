import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rate } from "@/components/billing/format";
import { priceLines, type Version } from "@/components/billing/units";
import { decimalUsd, displayMicros, exactTitle, formatMicros, parseUsd } from "@/lib/billing/money";

// The one money format of every page (issue 26): cents from a dollar up, three significant digits below (at most six
// decimals: 1 µ$ = $0.000001), exact on hover and in exports.
describe("displayMicros", () => {
  it.each([
    [0, "$0.00"],
    [1, "$0.000001"],
    [10, "$0.00001"],
    [647, "$0.000647"],
    [1_000, "$0.001"],
    [1_200, "$0.0012"],
    [1_234, "$0.00123"],
    [12_345, "$0.0123"],
    [123_456, "$0.123"],
    [500_000, "$0.50"],
    [999_499, "$0.999"],
    [999_500, "$1.00"],
    [999_999, "$1.00"],
    [1_000_000, "$1.00"],
    [1_004_999, "$1.00"],
    [1_005_000, "$1.01"],
    [3_000_000, "$3.00"],
    [15_000_000, "$15.00"],
    [5_000_000_000, "$5,000.00"],
    [9_007_199_254_740_991n, "$9,007,199,254.74"],
    [10n ** 30n, "$1,000,000,000,000,000,000,000,000.00"],
  ])("%s µ$ reads %s", (micros, text) => {
    expect(displayMicros(micros)).toBe(text);
    expect(displayMicros(BigInt(micros))).toBe(text);
  });

  it("reads a deficit the same with a minus sign, and signs credits when asked", () => {
    expect(displayMicros(-647)).toBe("-$0.000647");
    expect(displayMicros(-3_000_000)).toBe("-$3.00");
    expect(displayMicros(-5_000_005_000)).toBe("-$5,000.01");
    expect(displayMicros(-999_999)).toBe("-$1.00");
    expect(displayMicros(10_000_000, { sign: true })).toBe("+$10.00");
    expect(displayMicros(-125, { sign: true })).toBe("-$0.000125");
    expect(displayMicros(0, { sign: true })).toBe("$0.00");
  });

  it("is never more than half a unit of its last digit off, symmetric in sign, and cents from a dollar up", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (micros) => {
        const text = displayMicros(micros);
        const negative = micros < 0n;
        expect(displayMicros(-micros)).toBe(micros === 0n ? text : negative ? text.slice(1) : `-${text}`);
        const m = /^-?\$([\d,]+)\.(\d{2,6})$/.exec(text);
        expect(m).not.toBeNull();
        const shown = parseUsd(`${m![1]!.replaceAll(",", "")}.${m![2]}`)!;
        const abs = negative ? -micros : micros;
        const unit = 10n ** BigInt(6 - m![2]!.length);
        expect(2n * (shown > abs ? shown - abs : abs - shown)).toBeLessThanOrEqual(unit);
        if (shown >= 1_000_000n) expect(m![2]).toHaveLength(2);
        // Below a dollar: at least two significant digits are shown (three unless trailing zeros were dropped).
        if (abs > 0n && shown < 1_000_000n)
          expect(shown.toString().length).toBeGreaterThanOrEqual(Math.min(abs.toString().length, 2));
      }),
    );
  });
});

describe("exact figures", () => {
  it("are on the hover: exact dollars and the integer micro-USD", () => {
    expect(exactTitle(647)).toBe("$0.000647 (647 µ$)");
    expect(exactTitle(5_000_000_000n)).toBe("$5,000.000000 (5,000,000,000 µ$)");
    expect(exactTitle(-1_234_567)).toBe("-$1.234567 (-1,234,567 µ$)");
  });

  it("stay exact in exports and messages", () => {
    expect(decimalUsd(999_999n)).toBe("0.999999");
    expect(decimalUsd(-1n)).toBe("-0.000001");
    expect(formatMicros(1_000_000n)).toBe("$1.000000");
  });
});

describe("rates", () => {
  it("carry their unit, and a zero rate reads free", () => {
    expect(rate(3_000_000, "1M tokens")).toBe("$3.00 / 1M tokens");
    expect(rate(75_000, "1M tokens")).toBe("$0.075 / 1M tokens");
    expect(rate(40_000, "image")).toBe("$0.04 / image");
    expect(rate(100, "second")).toBe("$0.0001 / second");
    expect(rate(0, "1M tokens")).toBe("free");
    expect(rate(null, "image")).toBe("—");
  });

  const version = (v: Partial<Version> & Record<string, unknown>) =>
    ({
      inputPriceMicros: 0,
      outputPriceMicros: 0,
      inputCostMicros: 0,
      outputCostMicros: 0,
      imagePriceMicros: 0,
      imageCostMicros: 0,
      audioSecondPriceMicros: 0,
      audioSecondCostMicros: 0,
      characterPriceMicros: 0,
      characterCostMicros: 0,
      requestPriceMicros: 0,
      requestCostMicros: 0,
      cachedInputPriceMicros: null,
      cachedInputCostMicros: null,
      cacheWritePriceMicros: null,
      cacheWriteCostMicros: null,
      reasoningPriceMicros: null,
      reasoningCostMicros: null,
      imageRates: [],
      ...v,
    }) as unknown as Version;

  it("show a token model per 1M tokens and an image or speech model only by what it is sold by", () => {
    expect(priceLines(version({ inputPriceMicros: 3_000_000, outputPriceMicros: 15_000_000 }))).toEqual([
      "input $3.00 / 1M tokens",
      "output $15.00 / 1M tokens",
    ]);
    const image = version({
      imagePriceMicros: 40_000,
      imageCostMicros: 20_000,
      imageRates: [{ size: "1792x1024", quality: "hd", priceMicros: 120_000, costMicros: 80_000 }] as never,
    });
    expect(priceLines(image)).toEqual(["image $0.04 / image", "image 1792x1024 hd $0.12 / image"]);
    expect(priceLines(image, "cost")).toEqual(["image $0.02 / image", "image 1792x1024 hd $0.08 / image"]);
    expect(priceLines(version({ characterPriceMicros: 15_000_000 }))).toEqual([
      "characters (speech) $15.00 / 1M characters",
    ]);
  });
});
