import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import { emptyTurn, progressLines, turnsFromServer, turnsFromVersions, withJob } from "./turns";

const version = (n: number, prompt: string | null, job: string | null) => ({
  version: n,
  prompt,
  job_id: job,
  build: "unknown" as const,
  charged: true,
  files: 3,
  created_at: "2026-01-01T00:00:00Z",
});

describe("turns", () => {
  it("rebuilds one turn per version, oldest first", () => {
    const turns = turnsFromVersions([version(2, "make it blue", "j2"), version(1, "a todo app", "j1")]);
    expect(turns.map((t) => [t.prompt, t.version, t.jobId])).toEqual([
      ["a todo app", 1, "j1"],
      ["make it blue", 2, "j2"],
    ]);
  });

  it("names a version without a job as a hand edit", () => {
    expect(turnsFromVersions([version(3, null, null)])[0]!.prompt).toBe("Edited by hand");
  });

  it("fills a turn's plan, files, usage and notice from its job", () => {
    const job: Job = {
      job_id: "j1",
      kind: "generate",
      status: "succeeded",
      version: 1,
      provider: "starter",
      notice: "not a model",
      attempt: 1,
      next: 4,
      usage: { input_tokens: 5, output_tokens: 7, cost_usd: 0.01 },
      events: [
        { seq: 1, type: "text", text: "Plan: " },
        { seq: 2, type: "text", text: "a list." },
        { seq: 3, type: "file_start", path: "src/App.tsx" },
        { seq: 4, type: "edit", path: "index.html", search: "a", replace: "b" },
      ],
    };
    const turn = withJob(emptyTurn("k", "a todo app"), job);
    expect(turn.plan).toBe("Plan: a list.");
    expect(turn.files).toEqual(["src/App.tsx", "index.html"]);
    expect(turn.usage?.output_tokens).toBe(7);
    expect(turn.notice).toBe("not a model");
    expect(turn.version).toBe(1);
  });

  it("carries a failed job's error message", () => {
    const job = { job_id: "j", kind: "generate", status: "failed", attempt: 1, next: 0, events: [], error: { code: "provider_timeout", message: "The model stopped answering." } } satisfies Job;
    expect(withJob(emptyTurn("k", "x"), job).error).toBe("The model stopped answering.");
  });
});

describe("turns from the server", () => {
  const turn = (job: string, at: string, extra: Record<string, unknown> = {}) => ({
    job_id: job,
    prompt: `prompt ${job}`,
    status: "succeeded",
    version: 1,
    created_at: at,
    ...extra,
  });
  const summary = (n: number, at: string, extra: Record<string, unknown> = {}) => ({
    ...version(n, null, null),
    created_at: at,
    ...extra,
  });

  it("puts the server's newest-first turns oldest first", () => {
    const turns = turnsFromServer([turn("j2", "2026-01-02"), turn("j1", "2026-01-01")], []);
    expect(turns.map((t) => t.jobId)).toEqual(["j1", "j2"]);
  });

  it("interleaves hand edits between the turns by time", () => {
    const turns = turnsFromServer([turn("j2", "2026-01-03"), turn("j1", "2026-01-01")], [summary(2, "2026-01-02")]);
    expect(turns.map((t) => t.prompt)).toEqual(["prompt j1", "Edited by hand", "prompt j2"]);
  });

  it("keeps a failed turn's error code and message, and whether it was charged", () => {
    const [t] = turnsFromServer(
      [turn("j1", "2026-01-01", { status: "failed", error_code: "budget_exceeded", error_message: "used up", charged: false })],
      [],
    );
    expect([t!.status, t!.errorCode, t!.error, t!.charged]).toEqual(["failed", "budget_exceeded", "used up", false]);
  });

  it("marks a fix round the gate made as such", () => {
    const turns = turnsFromServer([], [summary(3, "2026-01-01", { job_id: "jb", fix_of: 2 })]);
    expect(turns[0]!.prompt).toBe("Fix round for v2");
  });

  it("lists continue, repair and retry status events as progress lines", () => {
    expect(
      progressLines([
        { seq: 1, type: "status", phase: "writing", message: "" },
        { seq: 2, type: "status", phase: "continue", message: "Continuing (2/3)" },
        { seq: 3, type: "status", phase: "retry", message: "" },
      ]),
    ).toEqual(["Continuing (2/3)", "Retrying"]);
  });
});
