/** Conversation turns: built from a job's events, or from version history after a reload. */
import type { Job, VersionSummary } from "../api/types";
import type { Turn } from "./app";

export function emptyTurn(key: string, prompt: string): Turn {
  return {
    key,
    prompt,
    jobId: null,
    status: "sending",
    plan: "",
    phase: "",
    message: "",
    files: [],
    usage: null,
    notice: null,
    provider: null,
    model: null,
    version: null,
    error: null,
  };
}

/** Oldest first, one turn per version; hand edits and restores read as such. */
export function turnsFromVersions(versions: readonly VersionSummary[]): Turn[] {
  return [...versions]
    .sort((a, b) => a.version - b.version)
    .map((v) => ({
      ...emptyTurn(`v${v.version}`, v.prompt ?? (v.job_id ? `Version ${v.version}` : "Edited by hand")),
      jobId: v.job_id ?? null,
      status: "succeeded" as const,
      version: v.version,
    }));
}

/** Fill a turn from a finished job: the plan, files written, usage, who answered. */
export function withJob(turn: Turn, job: Job): Turn {
  const plan = job.events.flatMap((e) => (e.type === "text" ? [e.text] : [])).join("");
  const files = [
    ...new Set(job.events.flatMap((e) => (e.type === "file_start" || e.type === "edit" ? [e.path] : []))),
  ];
  return {
    ...turn,
    jobId: job.job_id,
    status: job.status,
    plan: plan || turn.plan,
    files: files.length ? files : turn.files,
    usage: job.usage ?? turn.usage,
    notice: job.notice ?? turn.notice,
    provider: job.provider ?? turn.provider,
    model: job.model ?? turn.model,
    version: job.version ?? turn.version,
    error: job.error?.message ?? null,
  };
}
