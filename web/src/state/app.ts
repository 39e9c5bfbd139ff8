/** The shape of the web app's state; the store holds one of these. */
import type { Framework, JobStatus, Project, Provider, Usage, VersionSummary } from "../api/types";
import type { Files, StreamState } from "./stream";

export interface Problem {
  source: "build" | "runtime" | "console";
  message: string;
  file?: string;
  line?: number;
  column?: number;
  code?: string;
}

export interface Turn {
  key: string;
  prompt: string;
  jobId: string | null;
  status: JobStatus | "sending";
  plan: string;
  phase: string;
  message: string;
  files: readonly string[];
  usage: Usage | null;
  notice: string | null;
  provider: string | null;
  model: string | null;
  version: number | null;
  error: string | null;
  /** The server's stable error code of a failed turn (e.g. budget_exceeded). */
  errorCode: string | null;
  /** False when the gate refunded the turn (its version never built). */
  charged: boolean | null;
  /** Small progress lines: continuations, repairs, retries. */
  progress: readonly string[];
}

export interface ActiveJob {
  jobId: string;
  projectId: string;
  turnKey: string;
  status: JobStatus;
  stream: StreamState;
  next: number;
  /** Whether the preview ran a project before this job (then files stream into it). */
  livePreview: boolean;
}

export type Pane = "chat" | "code" | "preview";

export interface AppState {
  providers: Provider[];
  projects: Project[];
  project: Project | null;
  /** The version whose files are in the editor (the latest unless viewing history). */
  version: number | null;
  versions: VersionSummary[];
  saved: Files;
  files: Files;
  selected: string | null;
  closed: ReadonlySet<string>;
  framework: Framework;
  provider: string;
  turns: Turn[];
  job: ActiveJob | null;
  problems: Problem[];
  previewStatus: string;
  saving: boolean;
  historyOpen: boolean;
  /** Which top-bar popover is open. */
  popover: "share" | "settings" | null;
  deployOpen: boolean;
  /** The pane shown on a narrow screen, where chat, code and preview are tabs. */
  pane: Pane;
  /** The two versions the diff view compares, when it is open. */
  compare: { from: number; to: number } | null;
  toast: { kind: "error" | "info"; text: string } | null;
}

export function initialState(): AppState {
  return {
    providers: [],
    projects: [],
    project: null,
    version: null,
    versions: [],
    saved: {},
    files: {},
    selected: null,
    closed: new Set(),
    framework: "react",
    provider: "",
    turns: [],
    job: null,
    problems: [],
    previewStatus: "",
    saving: false,
    historyOpen: false,
    popover: null,
    deployOpen: false,
    pane: "chat",
    compare: null,
    toast: null,
  };
}

export function isStreaming(state: AppState): boolean {
  return state.job !== null && (state.job.status === "queued" || state.job.status === "running");
}

/** A job is attached (streaming or loading its result): no edits, saves or new sends. */
export function isBusy(state: AppState): boolean {
  return state.job !== null;
}

export function isLatest(state: AppState): boolean {
  return state.project === null || state.version === state.project.latest_version;
}
