import { describe, expect, it } from "vitest";
import { formatUsage } from "./format";

describe("formatUsage", () => {
  it("shows the cost of a priced model", () => {
    expect(formatUsage({ input_tokens: 1200, output_tokens: 300, cost_usd: 0.25, cost_known: true })).toBe(
      "1,200 in · 300 out · $0.25",
    );
  });

  it("shows an unpriced model's cost as the upper estimate it is, never as free", () => {
    expect(formatUsage({ input_tokens: 10, output_tokens: 20, cost_usd: 0.0016, cost_known: false })).toBe(
      "10 in · 20 out · ≤ $0.0016 (model not in the price table)",
    );
  });

  it("shows no cost when there is none", () => {
    expect(formatUsage({ input_tokens: 1, output_tokens: 2 })).toBe("1 in · 2 out");
  });
});
