import { describe, expect, it } from "vitest";
import cases from "../../../tests/fixtures/search_replace.json";
import { applySearchReplace } from "./edits";

type Case = { name: string; content: string; search: string; replace: string } & (
  | { result: string }
  | { error: string }
);

describe("applySearchReplace follows the table shared with the server (src/kiln/files.py)", () => {
  it.each((cases as Case[]).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const expected = "error" in c ? { ok: false, reason: c.error } : { ok: true, content: c.result };
    expect(applySearchReplace(c.content, c.search, c.replace)).toEqual(expected);
  });
});
