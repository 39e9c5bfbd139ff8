import { describe, expect, it } from "vitest";
import { draftFor, forgetDraft, keepDraft, withDraft } from "./drafts";

function memory(): Storage {
  const data = new Map<string, string>();
  return {
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
    clear: () => data.clear(),
    key: (i) => [...data.keys()][i] ?? null,
    get length() {
      return data.size;
    },
  };
}

describe("drafts of hand edits", () => {
  it("come back for the project and version they were made on", () => {
    const s = memory();
    keepDraft(s, "p1", 3, { files: { "a.js": "edited" }, deleted: ["b.js"] });
    const draft = draftFor(s, "p1", 3);
    expect(draft).toEqual({ version: 3, files: { "a.js": "edited" }, deleted: ["b.js"] });
    expect(withDraft({ "a.js": "old", "b.js": "x", "c.js": "y" }, draft!)).toEqual({ "a.js": "edited", "c.js": "y" });
  });

  it("do not apply to another project or a later version", () => {
    const s = memory();
    keepDraft(s, "p1", 3, { files: { "a.js": "edited" }, deleted: [] });
    expect(draftFor(s, "p2", 3)).toBeNull();
    expect(draftFor(s, "p1", 4)).toBeNull();
  });

  it("are forgotten when there is nothing unsaved, or once saved", () => {
    const s = memory();
    keepDraft(s, "p1", 3, { files: { "a.js": "edited" }, deleted: [] });
    keepDraft(s, "p1", 3, { files: {}, deleted: [] });
    expect(draftFor(s, "p1", 3)).toBeNull();
    keepDraft(s, "p1", 3, { files: { "a.js": "edited" }, deleted: [] });
    forgetDraft(s, "p1");
    expect(draftFor(s, "p1", 3)).toBeNull();
  });

  it("ignore what is not a draft", () => {
    const s = memory();
    s.setItem("kiln.draft.p1", "{not json");
    expect(draftFor(s, "p1", 3)).toBeNull();
  });
});
