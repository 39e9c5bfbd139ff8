import { describe, expect, it } from "vitest";
import { applySearchReplace } from "./edits";

describe("applySearchReplace", () => {
  it("replaces the first exact match", () => {
    expect(applySearchReplace("a b a", "a", "c")).toEqual({ ok: true, content: "c b a" });
  });

  it("appends when the search block is empty", () => {
    expect(applySearchReplace("x\n", "", "y\n")).toEqual({ ok: true, content: "x\ny\n" });
  });

  it("matches lines whose indentation differs and re-indents the replacement", () => {
    const file = "function f() {\n    if (a) {\n        go();\n    }\n}\n";
    const result = applySearchReplace(file, "if (a) {\n    go();\n}\n", "if (b) {\n    stop();\n}\n");
    expect(result).toEqual({ ok: true, content: "function f() {\n    if (b) {\n        stop();\n    }\n}\n" });
  });

  it("ignores trailing whitespace differences", () => {
    const result = applySearchReplace("a = 1;   \nb = 2;\n", "a = 1;\nb = 2;", "a = 3;\nb = 4;");
    expect(result).toEqual({ ok: true, content: "a = 3;\nb = 4;\n" });
  });

  it("fails plainly when nothing matches", () => {
    expect(applySearchReplace("abc", "xyz", "q")).toEqual({ ok: false, reason: "search text not found" });
  });
});
