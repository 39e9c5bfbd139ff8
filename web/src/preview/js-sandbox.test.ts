import { describe, expect, it } from "vitest";
import { asScript, formatRun, runInTerminal, runnable } from "./js-sandbox";

describe("the editor's JS sandbox", () => {
  it("runs plain JavaScript files only", () => {
    expect(runnable("src/util.js")).toBe(true);
    expect(runnable("src/App.tsx")).toBe(false);
    expect(runnable("main.py")).toBe(false);
  });

  it("turns a module's exports into plain declarations", () => {
    expect(asScript("export function f() {}\nexport const x = 1\nexport default class A {}")).toBe("function f() {}\nconst x = 1\nclass A {}");
  });

  it("refuses imports with a message that says what to do", () => {
    expect(() => asScript("import x from './x.js'\nx()")).toThrow(/imports do not run in the sandbox/);
  });

  it("writes logs, then the value, to the terminal", () => {
    const text = formatRun("a.js", { ok: true, value: "42", logs: ["hi"], timedOut: false });
    expect(text).toContain("hi\n");
    expect(text).toContain("=>\x1b[0m 42");
  });

  it("says when a run was stopped at its timeout", () => {
    expect(formatRun("loop.js", { ok: false, error: "timed out after 5 ms", logs: [], timedOut: true })).toContain("stopped: timed out after 5 ms");
  });

  it("writes a refused import to the terminal instead of running it", async () => {
    const written: string[] = [];
    let ran = false;
    const run = (): Promise<never> => {
      ran = true;
      throw new Error("must not run");
    };
    const r = await runInTerminal("import 'x'", "a.js", { write: (t) => void written.push(t) }, { run });
    expect(ran).toBe(false);
    expect(r.ok).toBe(false);
    expect(written.join("")).toContain("imports do not run in the sandbox");
  });
});
