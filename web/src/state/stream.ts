/**
 * Applying a job's events to the in-memory project: pure functions that return
 * the next state and the side effects (preview writes/deletes) for the caller.
 */
import type { JobEvent } from "../events";
import { applySearchReplace } from "./edits";

export type Files = Readonly<Record<string, string>>;

export interface StreamState {
  /** Files as they stand now: the base version plus what this job streamed. */
  readonly files: Files;
  /** Files when the job started; a retry goes back to these. */
  readonly base: Files;
  /** Path being written right now, if any. */
  readonly writing: string | null;
  /** Paths this job created or changed, in order of first touch. */
  readonly touched: readonly string[];
  /** Paths opened by file_start and not yet closed by file_end. */
  readonly open: readonly string[];
  readonly plan: string;
  readonly deps: readonly string[];
  readonly usage: { readonly input_tokens: number; readonly output_tokens: number };
  readonly phase: string;
  readonly message: string;
  readonly failedEdits: readonly { path: string; reason: string }[];
  readonly attempt: number;
}

export type Effect =
  | { kind: "write"; path: string; content: string }
  | { kind: "delete"; path: string };

export interface Step {
  state: StreamState;
  effects: Effect[];
}

export function startStream(base: Files): StreamState {
  return {
    files: base,
    base,
    writing: null,
    touched: [],
    open: [],
    plan: "",
    deps: [],
    usage: { input_tokens: 0, output_tokens: 0 },
    phase: "queued",
    message: "",
    failedEdits: [],
    attempt: 1,
  };
}

function touch(list: readonly string[], path: string): readonly string[] {
  return list.includes(path) ? list : [...list, path];
}

function without(files: Files, path: string): Files {
  const next = { ...files };
  delete next[path];
  return next;
}

/** Undo everything this job streamed; effects bring the preview back to the base. */
function resetToBase(state: StreamState, event: { phase: string; message?: string }): Step {
  const effects: Effect[] = [];
  for (const path of state.touched) {
    const original = state.base[path];
    if (original === undefined) {
      if (path in state.files) effects.push({ kind: "delete", path });
    } else if (state.files[path] !== original) {
      effects.push({ kind: "write", path, content: original });
    }
  }
  const fresh = startStream(state.base);
  return {
    state: {
      ...fresh,
      usage: state.usage,
      phase: event.phase,
      message: event.message ?? "",
      attempt: state.attempt + 1,
    },
    effects,
  };
}

export function applyEvent(state: StreamState, event: JobEvent): Step {
  switch (event.type) {
    case "file_start":
      return {
        state: {
          ...state,
          files: { ...state.files, [event.path]: "" },
          writing: event.path,
          touched: touch(state.touched, event.path),
          open: touch(state.open, event.path),
          phase: "writing",
        },
        effects: [],
      };
    case "file_chunk": {
      const before = state.files[event.path] ?? "";
      return {
        state: {
          ...state,
          files: { ...state.files, [event.path]: before + event.text },
          writing: event.path,
          touched: touch(state.touched, event.path),
          open: touch(state.open, event.path),
        },
        effects: [],
      };
    }
    case "file_end": {
      const content = state.files[event.path] ?? "";
      return {
        state: {
          ...state,
          files: { ...state.files, [event.path]: content },
          writing: state.writing === event.path ? null : state.writing,
          open: state.open.filter((p) => p !== event.path),
        },
        effects: [{ kind: "write", path: event.path, content }],
      };
    }
    case "edit": {
      const current = state.files[event.path];
      const result =
        current === undefined && event.search !== ""
          ? { ok: false as const, reason: "file does not exist" }
          : applySearchReplace(current ?? "", event.search, event.replace);
      if (!result.ok) {
        return {
          state: {
            ...state,
            failedEdits: [...state.failedEdits, { path: event.path, reason: result.reason }],
          },
          effects: [],
        };
      }
      return {
        state: {
          ...state,
          files: { ...state.files, [event.path]: result.content },
          writing: event.path,
          touched: touch(state.touched, event.path),
        },
        effects: [{ kind: "write", path: event.path, content: result.content }],
      };
    }
    case "delete":
      if (!(event.path in state.files)) return { state, effects: [] };
      return {
        state: {
          ...state,
          files: without(state.files, event.path),
          writing: state.writing === event.path ? null : state.writing,
          touched: touch(state.touched, event.path),
          open: state.open.filter((p) => p !== event.path),
        },
        effects: [{ kind: "delete", path: event.path }],
      };
    case "deps":
      return {
        state: { ...state, deps: [...state.deps, ...event.add.filter((d) => !state.deps.includes(d))] },
        effects: [],
      };
    case "text":
      return { state: { ...state, plan: state.plan + event.text }, effects: [] };
    case "usage":
      return {
        state: {
          ...state,
          usage: {
            input_tokens: state.usage.input_tokens + event.input_tokens,
            output_tokens: state.usage.output_tokens + event.output_tokens,
          },
        },
        effects: [],
      };
    case "status":
      if (event.phase === "retry") return resetToBase(state, event);
      return { state: { ...state, phase: event.phase, message: event.message ?? "" }, effects: [] };
    default:
      return { state, effects: [] };
  }
}

/** Fold a batch of events; effects on the same path collapse to the last one. */
export function applyEvents(state: StreamState, events: readonly JobEvent[]): Step {
  let current = state;
  const effects = new Map<string, Effect>();
  for (const event of events) {
    const step = applyEvent(current, event);
    current = step.state;
    for (const effect of step.effects) {
      effects.delete(effect.path);
      effects.set(effect.path, effect);
    }
  }
  return { state: current, effects: [...effects.values()] };
}
