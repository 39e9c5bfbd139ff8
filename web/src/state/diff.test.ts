import { describe, expect, it } from "vitest";
import { diffFilesByLine } from "./diff";

describe("diffFilesByLine", () => {
  it("marks added and removed lines of a changed file", () => {
    const [file] = diffFilesByLine({ "a.txt": "one\ntwo\n" }, { "a.txt": "one\n2\n" });
    expect(file).toMatchObject({ path: "a.txt", status: "changed", added: 1, removed: 1 });
    expect(file!.lines).toEqual([
      { kind: "same", text: "one" },
      { kind: "del", text: "two" },
      { kind: "add", text: "2" },
    ]);
  });

  it("names new and deleted files and skips unchanged ones", () => {
    const files = diffFilesByLine({ same: "x", gone: "y\n" }, { same: "x", fresh: "z\n" });
    expect(files.map((f) => [f.path, f.status])).toEqual([
      ["fresh", "added"],
      ["gone", "removed"],
    ]);
  });

  it("folds a long unchanged run into a gap, keeping three lines of context", () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n") + "\n";
    const after = before.replace("line 10\n", "line ten\n");
    const [file] = diffFilesByLine({ f: before }, { f: after });
    const kinds = file!.lines.map((l) => l.kind);
    expect(kinds).toEqual(["gap", "same", "same", "same", "del", "add", "same", "same", "same", "gap"]);
    expect(file!.lines[0]!.text).toBe("7 unchanged lines");
  });
});
