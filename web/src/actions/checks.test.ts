import { describe, expect, it } from "vitest";
import { ApiError, type ApiClient } from "../api/client";
import type { GenerationRequest, Project } from "../api/types";
import { initialState } from "../state/app";
import { Store } from "../state/store";
import { describeCheck, saveCheck } from "./checks";
import { createContext } from "./context";

const project = { project_id: "p1", name: "Todo", framework: "vanilla", latest_version: 3 } as Project;

function ctxWith(api: Partial<ApiClient>, version = 3) {
  const store = new Store(initialState());
  store.set({ project, version });
  return createContext(store, api as ApiClient);
}

describe("checks", () => {
  it("asks the model to write a check described in words, and to change nothing else", async () => {
    const sent: GenerationRequest[] = [];
    const ctx = ctxWith({
      generate: (body: GenerationRequest) => {
        sent.push(body);
        return Promise.reject(new ApiError(503, "unavailable", "later"));
      },
    });
    await describeCheck(ctx, "  when I add a task it appears in the list ");
    expect(sent[0]?.prompt).toBe(
      "Add an acceptance check (a kiln-check block; change nothing else): when I add a task it appears in the list",
    );
    expect(sent[0]?.project_id).toBe("p1");
  });

  it("shows why a hand-written check does not read, with its line", async () => {
    const ctx = ctxWith({
      putCheck: () => Promise.reject(new ApiError(422, "check_invalid", "line 2: expected open or click")),
    });
    expect(await saveCheck(ctx, "adds", "open /\nhover text \"x\"")).toBe(false);
    expect(ctx.store.get().toast).toEqual({ kind: "error", text: "The check does not read right: line 2: expected open or click" });
  });

  it("edits only the latest version", async () => {
    const ctx = ctxWith({ putCheck: () => Promise.reject(new Error("must not be called")) }, 2);
    expect(await saveCheck(ctx, "adds", 'expect text "x"')).toBe(false);
    expect(ctx.store.get().toast?.text).toBe("You are viewing v2. Restore it first, then edit its checks.");
  });
});
