import { describe, expect, it } from "vitest";
import { effectsBetween } from "./preview-bridge";

describe("effectsBetween", () => {
  it("writes changed and new files and deletes missing ones", () => {
    const effects = effectsBetween({ a: "1", b: "2", c: "3" }, { a: "1", b: "20", d: "4" });
    expect(effects).toEqual([
      { kind: "write", path: "b", content: "20" },
      { kind: "write", path: "d", content: "4" },
      { kind: "delete", path: "c" },
    ]);
  });

  it("does nothing when the preview already runs the target files", () => {
    expect(effectsBetween({ a: "1" }, { a: "1" })).toEqual([]);
  });
});
