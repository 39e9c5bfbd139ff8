/** Conversation turns: from the server's turn list, or built from a job's events. */
import type { Job, ServerTurn, VersionSummary } from "../api/types";
import type { SequencedEvent } from "../events";
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
    errorCode: null,
    charged: null,
    progress: [],
  };
}

const STARTER_NOTICE = "Offline starter template, not an AI model";

const FINAL = new Set(["succeeded", "failed", "cancelled"]);

function serverTurn(t: ServerTurn): Turn {
  const status = FINAL.has(t.status) ? (t.status as Turn["status"]) : "running";
  return {
    ...emptyTurn(`job-${t.job_id}`, t.prompt),
    jobId: t.job_id,
    status,
    plan: t.plan ?? "",
    files: t.changed ?? [],
    usage: t.usage ?? null,
    provider: t.provider ?? null,
    model: t.model ?? null,
    version: t.version ?? null,
    error: t.error_message ?? null,
    errorCode: t.error_code ?? null,
    charged: t.charged ?? null,
    notice: t.provider === "starter" ? STARTER_NOTICE : null,
  };
}

/** One quiet line for a version made without the model: a hand edit, a restore, a fix round. */
export function versionTurn(v: VersionSummary): Turn {
  const prompt = v.fix_of ? `Fix round for v${v.fix_of}` : (v.prompt ?? "Edited by hand");
  return { ...emptyTurn(`v${v.version}`, prompt), status: "succeeded", version: v.version, charged: v.charged };
}

/**
 * The chat after a reload, oldest first: the server's turns (newest first on the wire)
 * interleaved with versions no turn explains (hand edits, restores, fix rounds).
 */
export function turnsFromServer(turns: readonly ServerTurn[], versions: readonly VersionSummary[]): Turn[] {
  const jobs = new Set(turns.map((t) => t.job_id));
  const dated: { at: string; turn: Turn }[] = [
    ...turns.map((t) => ({ at: t.created_at ?? "", turn: serverTurn(t) })),
    ...versions
      .filter((v) => !v.job_id || (v.fix_of && !jobs.has(v.job_id)))
      .map((v) => ({ at: v.created_at, turn: versionTurn(v) })),
  ];
  return dated.sort((a, b) => a.at.localeCompare(b.at)).map((d) => d.turn);
}

/** Oldest first, one turn per version (for versions the page made itself). */
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

const PROGRESS_PHASES = new Set(["continue", "repair", "retry"]);
const PROGRESS_WORDS: Record<string, string> = {
  continue: "Continuing the reply",
  repair: "Repairing the output",
  retry: "Retrying",
};

/** Status events worth a line in the turn: the model continued, kiln repaired, a retry. */
export function progressLines(events: readonly SequencedEvent[]): string[] {
  return events.flatMap((e) =>
    e.type === "status" && PROGRESS_PHASES.has(e.phase) ? [e.message || PROGRESS_WORDS[e.phase]!] : [],
  );
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
    errorCode: job.error?.code ?? null,
  };
}
