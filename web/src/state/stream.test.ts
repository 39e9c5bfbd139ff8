import { describe, expect, it } from "vitest";
import type { JobEvent } from "../events";
import { applyEvent, applyEvents, startStream } from "./stream";

const base = { "src/App.tsx": "export default function App() {\n  return <h1>Hi</h1>;\n}\n", "index.html": "<div id=root></div>" };

describe("streaming files", () => {
  it("file_start creates an empty file and marks it as being written", () => {
    const { state, effects } = applyEvent(startStream({}), { type: "file_start", path: "src/a.ts" });
    expect(state.files["src/a.ts"]).toBe("");
    expect(state.writing).toBe("src/a.ts");
    expect(effects).toEqual([]);
  });

  it("file_start clears a file that already exists", () => {
    const { state } = applyEvent(startStream(base), { type: "file_start", path: "index.html" });
    expect(state.files["index.html"]).toBe("");
  });

  it("file_chunk appends text to the file", () => {
    const { state } = applyEvents(startStream({}), [
      { type: "file_start", path: "a.css" },
      { type: "file_chunk", path: "a.css", text: "body " },
      { type: "file_chunk", path: "a.css", text: "{}" },
    ]);
    expect(state.files["a.css"]).toBe("body {}");
  });

  it("file_end completes the file and asks the preview to write it", () => {
    const { state, effects } = applyEvents(startStream({}), [
      { type: "file_start", path: "a.css" },
      { type: "file_chunk", path: "a.css", text: "body {}" },
      { type: "file_end", path: "a.css" },
    ]);
    expect(state.writing).toBeNull();
    expect(state.open).toEqual([]);
    expect(effects).toEqual([{ kind: "write", path: "a.css", content: "body {}" }]);
  });

  it("does not write a file to the preview before it is complete", () => {
    const { effects } = applyEvents(startStream({}), [
      { type: "file_start", path: "a.css" },
      { type: "file_chunk", path: "a.css", text: "bo" },
    ]);
    expect(effects).toEqual([]);
  });

  it("delete removes the file and asks the preview to delete it", () => {
    const { state, effects } = applyEvent(startStream(base), { type: "delete", path: "index.html" });
    expect("index.html" in state.files).toBe(false);
    expect(effects).toEqual([{ kind: "delete", path: "index.html" }]);
  });

  it("text accumulates into the plan", () => {
    const { state } = applyEvents(startStream({}), [
      { type: "text", text: "I will " },
      { type: "text", text: "build a counter." },
    ]);
    expect(state.plan).toBe("I will build a counter.");
  });

  it("usage events add up", () => {
    const { state } = applyEvents(startStream({}), [
      { type: "usage", input_tokens: 10, output_tokens: 5 },
      { type: "usage", input_tokens: 1, output_tokens: 2 },
    ]);
    expect(state.usage).toEqual({ input_tokens: 11, output_tokens: 7 });
  });

  it("deps are collected once each", () => {
    const { state } = applyEvents(startStream({}), [
      { type: "deps", add: ["zod@^3", "clsx"] },
      { type: "deps", add: ["clsx"] },
    ]);
    expect(state.deps).toEqual(["zod@^3", "clsx"]);
  });

  it("a batch collapses effects on one path to the last", () => {
    const { effects } = applyEvents(startStream({}), [
      { type: "file_start", path: "a" },
      { type: "file_end", path: "a" },
      { type: "edit", path: "a", search: "", replace: "x" },
    ]);
    expect(effects).toEqual([{ kind: "write", path: "a", content: "x" }]);
  });
});

describe("edits", () => {
  it("applies an exact SEARCH/REPLACE and writes the file", () => {
    const { state, effects } = applyEvent(startStream(base), {
      type: "edit",
      path: "src/App.tsx",
      search: "<h1>Hi</h1>",
      replace: "<h1>Hello</h1>",
    });
    expect(state.files["src/App.tsx"]).toContain("<h1>Hello</h1>");
    expect(effects).toHaveLength(1);
  });

  it("records an edit whose search text is missing and leaves the file alone", () => {
    const { state, effects } = applyEvent(startStream(base), {
      type: "edit",
      path: "src/App.tsx",
      search: "nothing like this",
      replace: "x",
    });
    expect(state.files["src/App.tsx"]).toBe(base["src/App.tsx"]);
    expect(state.failedEdits).toEqual([{ path: "src/App.tsx", reason: "SEARCH block not found" }]);
    expect(effects).toEqual([]);
  });

  it("records an edit of a file that does not exist", () => {
    const { state } = applyEvent(startStream(base), { type: "edit", path: "nope.ts", search: "a", replace: "b" });
    expect(state.failedEdits[0]?.reason).toBe("file does not exist");
  });
});

describe("retry", () => {
  const partial: JobEvent[] = [
    { type: "text", text: "plan" },
    { type: "file_start", path: "src/new.ts" },
    { type: "file_chunk", path: "src/new.ts", text: "half" },
    { type: "file_start", path: "index.html" },
    { type: "file_chunk", path: "index.html", text: "<p>" },
    { type: "file_end", path: "index.html" },
    { type: "delete", path: "src/App.tsx" },
  ];

  it("status retry restores the files the job started from", () => {
    const streamed = applyEvents(startStream(base), partial).state;
    const { state } = applyEvent(streamed, { type: "status", phase: "retry", message: "again" });
    expect(state.files).toEqual(base);
    expect(state.plan).toBe("");
    expect(state.touched).toEqual([]);
    expect(state.attempt).toBe(2);
  });

  it("status retry tells the preview to undo every streamed change", () => {
    const streamed = applyEvents(startStream(base), partial).state;
    const { effects } = applyEvent(streamed, { type: "status", phase: "retry", message: "" });
    expect(effects).toEqual(
      expect.arrayContaining([
        { kind: "delete", path: "src/new.ts" },
        { kind: "write", path: "index.html", content: base["index.html"] },
        { kind: "write", path: "src/App.tsx", content: base["src/App.tsx"] },
      ]),
    );
    expect(effects).toHaveLength(3);
  });

  it("other status phases only update phase and message", () => {
    const { state } = applyEvent(startStream(base), { type: "status", phase: "building", message: "npm ci" });
    expect(state.phase).toBe("building");
    expect(state.message).toBe("npm ci");
    expect(state.files).toBe(base);
  });
});
