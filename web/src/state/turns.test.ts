import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import { emptyTurn, turnsFromVersions, withJob } from "./turns";

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
