import { describe, expect, it } from "vitest";
import { csvField } from "@/lib/csv";

describe("a CSV field", () => {
  it("keeps amounts and plain text as they are, quotes what holds a comma, quote or line break", () => {
    expect(csvField("-0.000125")).toBe("-0.000125");
    expect(csvField("-125")).toBe("-125");
    expect(csvField("gpt-4o")).toBe("gpt-4o");
    expect(csvField('a "b", c')).toBe('"a ""b"", c"');
  });

  it("never starts with what a spreadsheet reads as a formula, a name shaped like a number included", () => {
    for (const formula of [
      "=1+1",
      "+1",
      "@SUM(A1)",
      "\tx",
      '-1+HYPERLINK("https://evil.example")',
      "-2e3*A1",
    ])
      expect(csvField(formula).replace(/^"/, "")).toMatch(/^'/);
  });
});
