/**
 * The shell's side of the preview: which project the engine runs, and turning
 * stream effects into writeFile/deleteFile calls. Failures surface as problems.
 */
import type { Framework } from "../api/types";
import type { Problem } from "../state/app";
import type { Effect, Files } from "../state/stream";
import type { PreviewHost } from "./preview-host";

export class PreviewBridge {
  private host: PreviewHost | null = null;
  private pending: ((host: PreviewHost) => void)[] = [];
  /** Project whose files the engine runs, or null before the first load. */
  loadedProject: string | null = null;

  constructor(private readonly report: (p: Problem) => void) {}

  attach(host: PreviewHost): void {
    this.host = host;
    const queued = this.pending;
    this.pending = [];
    for (const run of queued) run(host);
  }

  private withHost(run: (host: PreviewHost) => void): void {
    if (this.host) run(this.host);
    else this.pending.push(run);
  }

  load(projectId: string, framework: Framework, files: Files): void {
    this.loadedProject = projectId;
    this.withHost((host) => {
      host.load(framework, { ...files }).catch((err: unknown) => {
        this.report({ source: "build", message: `Preview failed to start: ${String(err)}` });
      });
    });
  }

  clear(): void {
    this.loadedProject = null;
  }

  apply(effects: readonly Effect[]): void {
    if (effects.length === 0) return;
    this.withHost((host) => {
      for (const effect of effects) {
        if (effect.kind === "write") host.writeFile(effect.path, effect.content);
        else host.deleteFile(effect.path);
      }
    });
  }

  retry(): void {
    this.withHost((host) => host.retry());
  }

  setWidth(px: number | null): void {
    this.withHost((host) => host.setWidth(px));
  }
}

/** Effects that take the running files to `target` (after a job, the server's version). */
export function effectsBetween(running: Files, target: Files): Effect[] {
  const effects: Effect[] = [];
  for (const [path, content] of Object.entries(target)) {
    if (running[path] !== content) effects.push({ kind: "write", path, content });
  }
  for (const path of Object.keys(running)) {
    if (!(path in target)) effects.push({ kind: "delete", path });
  }
  return effects;
}
