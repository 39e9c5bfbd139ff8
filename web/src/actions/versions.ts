/** Versions: view, save hand edits, restore, download, and watch the build gate's verdicts. */
import { ApiError } from "../api/client";
import { followPushed } from "../api/push";
import type { Project, VersionSummary } from "../api/types";
import { isBusy, isLatest } from "../state/app";
import { diffFiles, hasChanges } from "../state/files";
import { forgetDraft } from "../state/drafts";
import { buildProblems } from "../state/health";
import { turnsFromVersions, versionTurn } from "../state/turns";
import { addProblem, download, fail, setHash, sleep, slug, toast, type Ctx } from "./context";
import { openProject, refreshProjects, showVersion } from "./projects";

const BUILD_POLL_MS = 2000;
const BUILD_WAIT_MS = 120_000;
/** Past any event: a follow of a gate job hears only its end, never its log. */
const ONLY_THE_END = 2 ** 31;

export async function viewVersion(ctx: Ctx, n: number): Promise<void> {
  const project = ctx.store.get().project;
  if (!project || isBusy(ctx.store.get())) return;
  try {
    await showVersion(ctx, project, n);
    setHash(project.project_id, n === project.latest_version ? null : n);
  } catch (err) {
    fail(ctx, err);
  }
}

/** Reload the version list, keeping any version this page made meanwhile. */
export async function refreshVersions(ctx: Ctx): Promise<void> {
  const project = ctx.store.get().project;
  if (!project) return;
  try {
    const fetched = await ctx.api.versions(project.project_id);
    const s = ctx.store.get();
    if (s.project?.project_id !== project.project_id) return;
    const byNumber = new Map(s.versions.map((v) => [v.version, v]));
    for (const v of fetched) byNumber.set(v.version, v);
    ctx.store.set({ versions: [...byNumber.values()].sort((a, b) => b.version - a.version) });
  } catch (err) {
    fail(ctx, err);
  }
}

/** Save the editor's changes as a new version; false when nothing could be saved. */
export async function save(ctx: Ctx): Promise<boolean> {
  const state = ctx.store.get();
  const { project, version, saved, files } = state;
  if (!project || version === null || state.saving) return false;
  const changes = diffFiles(saved, files);
  if (!hasChanges(changes)) return true;
  if (!isLatest(state)) {
    toast(ctx, "error", `You are viewing v${version}. Restore it first, then edit.`);
    return false;
  }
  ctx.store.set({ saving: true });
  try {
    const summary = await ctx.api.saveVersion(project.project_id, {
      base_version: version,
      ...changes,
      message: "Edited by hand",
    });
    const s = ctx.store.get();
    ctx.store.set({
      project: { ...project, latest_version: summary.version },
      version: summary.version,
      saved: files,
      versions: [summary, ...s.versions],
      turns: [...s.turns, { ...turnsFromVersions([summary])[0]!, prompt: "Edited by hand" }],
    });
    forgetDraft(localStorage, project.project_id);
    toast(ctx, "info", `Saved as v${summary.version}`);
    void refreshProjects(ctx);
    void watchBuilds(ctx);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.code === "version_conflict") {
      const current = err.details?.["current_version"];
      toast(ctx, "error", `This project changed meanwhile (now v${String(current ?? "?")}). Copy your edits and reload.`);
    } else {
      fail(ctx, err);
    }
    return false;
  } finally {
    ctx.store.set({ saving: false });
  }
}

/** Make version `n`'s files the new latest version. */
export async function restore(ctx: Ctx, n: number): Promise<void> {
  const project = ctx.store.get().project;
  if (!project || isBusy(ctx.store.get())) return;
  try {
    const latest = project.latest_version;
    const [old, current] = await Promise.all([
      ctx.api.version(project.project_id, n),
      ctx.api.version(project.project_id, latest),
    ]);
    const deleted = Object.keys(current.files).filter((p) => !(p in old.files));
    const summary = await ctx.api.saveVersion(project.project_id, {
      base_version: latest,
      files: old.files,
      deleted,
      message: `Restored v${n}`,
    });
    ctx.store.set({ historyOpen: false });
    await openProject(ctx, project.project_id, null);
    toast(ctx, "info", `Restored v${n} as v${summary.version}`);
    void refreshProjects(ctx);
  } catch (err) {
    fail(ctx, err);
  }
}

export async function downloadZip(ctx: Ctx): Promise<void> {
  const { project, version } = ctx.store.get();
  if (!project || !version) return;
  try {
    const blob = await ctx.api.archive(project.project_id, version);
    download(blob, `${slug(project.name)}-v${version}.zip`);
  } catch (err) {
    fail(ctx, err);
  }
}

/**
 * Reload the version list each time the gate may have news, while a recent version's
 * build is unknown (up to 2 minutes after the last change): badges resolve, red builds
 * fill the problems panel, and a fix round the gate made opens when the user was on the
 * latest. The news is the end of the gate's job, pushed over the socket; without one,
 * the list is polled every 2 s.
 */
export async function watchBuilds(ctx: Ctx): Promise<void> {
  const pid = ctx.store.get().project?.project_id;
  if (!pid || ctx.watchingBuilds === pid) return;
  ctx.watchingBuilds = pid;
  let deadline = Date.now() + BUILD_WAIT_MS;
  const news = gateNews(ctx, () => ctx.watchingBuilds === pid);
  try {
    while (Date.now() < deadline && pendingBuild(ctx.store.get().versions)) {
      await news();
      if (ctx.store.get().project?.project_id !== pid) return;
      let project: Project;
      let fetched: VersionSummary[];
      try {
        [project, fetched] = await Promise.all([ctx.api.project(pid), ctx.api.versions(pid)]);
      } catch {
        continue;
      }
      const s = ctx.store.get();
      if (s.project?.project_id !== pid) return;
      const before = new Map(s.versions.map((v) => [v.version, v]));
      const grew = project.latest_version > (s.project.latest_version ?? 0);
      if (grew) deadline = Date.now() + BUILD_WAIT_MS;
      ctx.store.set({ versions: fetched });
      const shown = fetched.find((v) => v.version === s.version);
      if (shown?.build === "red" && before.get(shown.version)?.build !== "red") {
        for (const p of buildProblems(shown)) addProblem(ctx, p);
      }
      if (isBusy(ctx.store.get())) continue;
      const wasLatest = s.version === s.project.latest_version;
      ctx.store.set({ project });
      if (grew) {
        const turns = ctx.store.get().turns;
        const added = fetched.filter((v) => !before.has(v.version) && !turns.some((t) => t.version === v.version));
        const lines = added.sort((a, b) => a.version - b.version).map(versionTurn);
        ctx.store.set({ turns: [...turns, ...lines] });
        if (wasLatest) await showVersion(ctx, project, project.latest_version);
      }
    }
  } finally {
    if (ctx.watchingBuilds === pid) ctx.watchingBuilds = null;
  }
}

/** A wait for the gate's next news: the end of the job it runs for the newest pending
 * version, heard over the push socket, else a poll interval. A job already heard ending
 * (its verdict not in the list yet), a lost socket or none at all wait the interval. */
function gateNews(ctx: Ctx, wanted: () => boolean): () => Promise<void> {
  const ended = new Set<string>();
  let pushable = true;
  return async () => {
    const jobId = gateJob(ctx.store.get().versions);
    if (pushable && jobId && !ended.has(jobId)) {
      const target = await ctx.api.pushTarget().catch(() => null);
      const end = target
        ? await followPushed({ ...target, jobId, after: ONLY_THE_END, idleMs: BUILD_WAIT_MS, onJob: () => undefined, wanted })
        : ({ kind: "refused" } as const);
      if (end.kind === "finished") {
        ended.add(jobId);
        return;
      }
      pushable = end.kind !== "refused";
    }
    await sleep(BUILD_POLL_MS);
  };
}

/** The job the gate runs for the newest pending version: its fix round, else its build. */
export function gateJob(versions: readonly VersionSummary[]): string | null {
  const newest = [...versions].sort((a, b) => b.version - a.version);
  if (newest[0]?.build === "red" && newest[0].fix_job_id) return newest[0].fix_job_id;
  return newest.slice(0, 3).find((v) => v.build === "unknown" && v.build_job_id)?.build_job_id ?? null;
}

/** Versions whose build the gate has not judged yet, among the newest few, or a newest
 * version that is red with its fix round under way (the fix's version is still to come). */
export function pendingBuild(versions: readonly VersionSummary[]): boolean {
  const newest = [...versions].sort((a, b) => b.version - a.version);
  const fixing = newest[0]?.build === "red" && !!newest[0].fix_job_id;
  return fixing || newest.slice(0, 3).some((v) => v.build === "unknown");
}
