/** Start-up, navigation between projects, and the project's own settings. */
import { ApiError } from "../api/client";
import type { Project } from "../api/types";
import { isBusy, type Turn } from "../state/app";
import { draftFor, withDraft } from "../state/drafts";
import { diffFiles, preferredFile } from "../state/files";
import { buildProblems, landingVersion } from "../state/health";
import { parseRoute } from "../state/route";
import { turnsFromServer, turnsFromVersions, withJob } from "../state/turns";
import { describeError, download, fail, setHash, slug, toast, type Ctx } from "./context";
import { readSavedJob, resume, updateTurn } from "./generate";
import { viewVersion, watchBuilds } from "./versions";

export async function boot(ctx: Ctx): Promise<void> {
  try {
    await ctx.api.ensureSession();
  } catch (err) {
    fail(ctx, err);
    return;
  }
  void ctx.api.providers().then(
    (providers) => ctx.store.set({ providers }),
    () => ctx.store.set({ providers: [] }),
  );
  void refreshProjects(ctx);
  const saved = readSavedJob();
  const route = parseRoute(location.hash);
  if (route.projectId) await openProject(ctx, route.projectId, route.version);
  if (saved && (route.projectId === null || saved.projectId === route.projectId)) {
    resume(ctx, saved);
  }
  window.addEventListener("hashchange", () => void followHash(ctx));
}

async function followHash(ctx: Ctx): Promise<void> {
  const route = parseRoute(location.hash);
  const { project, version } = ctx.store.get();
  if (route.projectId === (project?.project_id ?? null)) {
    if (route.version !== null && route.version !== version && route.projectId) {
      await viewVersion(ctx, route.version);
    }
    return;
  }
  if (isBusy(ctx.store.get())) return;
  if (route.projectId) await openProject(ctx, route.projectId, route.version);
  else newProject(ctx);
}

export async function refreshProjects(ctx: Ctx): Promise<void> {
  try {
    const projects = await ctx.api.projects();
    projects.sort((a, b) => b.updated_at.localeCompare(a.updated_at));
    ctx.store.set({ projects });
  } catch (err) {
    fail(ctx, err);
  }
}

export function newProject(ctx: Ctx): void {
  if (isBusy(ctx.store.get())) return;
  ctx.preview.clear();
  ctx.store.set({
    project: null,
    version: null,
    versions: [],
    saved: {},
    files: {},
    selected: null,
    turns: [],
    problems: [],
    job: null,
    historyOpen: false,
  });
  setHash(null, null);
}

export async function openProject(ctx: Ctx, projectId: string, version: number | null = null): Promise<void> {
  try {
    const [project, versions, serverTurns] = await Promise.all([
      ctx.api.project(projectId),
      ctx.api.versions(projectId),
      ctx.api.turns(projectId).catch(() => null),
    ]);
    const wanted = version ?? landingVersion(project, versions);
    const turns = serverTurns ? turnsFromServer(serverTurns, versions) : turnsFromVersions(versions);
    ctx.store.set({ project, versions, turns, framework: project.framework, problems: [], job: null });
    if (wanted > 0) await showVersion(ctx, project, wanted);
    else ctx.store.set({ version: 0, saved: {}, files: {}, selected: null });
    setHash(project.project_id, version);
    if (!serverTurns) void fillTurns(ctx, turns);
    void watchBuilds(ctx);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      toast(ctx, "error", "That project was not found. It may belong to another browser session.");
      newProject(ctx);
    } else {
      fail(ctx, err);
    }
  }
}

/** Put version `n` in the editor and the preview (with the draft kept for the latest). */
export async function showVersion(ctx: Ctx, project: Project, n: number): Promise<void> {
  const v = await ctx.api.version(project.project_id, n);
  const draft = v.version === project.latest_version ? draftFor(localStorage, project.project_id, v.version) : null;
  const files = draft ? withDraft(v.files, draft) : v.files;
  const paths = Object.keys(files);
  const edited = draft ? Object.keys(draft.files).find((p) => p in files) : undefined;
  const current = ctx.store.get().selected;
  const keep = current && paths.includes(current) ? current : null;
  ctx.store.set({
    version: v.version,
    saved: v.files,
    files,
    selected: edited ?? keep ?? preferredFile(paths),
    problems: buildProblems(v),
  });
  ctx.preview.load(project.project_id, project.framework, files);
  if (draft) {
    const count = Object.keys(draft.files).length + draft.deleted.length;
    toast(ctx, "info", `Unsaved changes restored (${count} file${count === 1 ? "" : "s"}). Save to keep them.`);
  }
}

/** After a reload, bring back each turn's plan and usage from its job (best effort). */
async function fillTurns(ctx: Ctx, turns: readonly Turn[]): Promise<void> {
  const recent = turns.filter((t) => t.jobId).slice(-20);
  await Promise.all(
    recent.map(async (turn) => {
      try {
        const job = await ctx.api.job(turn.jobId!, 0);
        updateTurn(ctx, turn.key, (t) => ({ ...withJob(t, job), status: t.status, version: t.version }));
      } catch {
        // Jobs expire after 30 days; the turn keeps its prompt.
      }
    }),
  );
}

/** Give a project a new name (the home list and the top bar follow). */
export async function renameProject(ctx: Ctx, projectId: string, name: string): Promise<boolean> {
  const clean = name.trim();
  if (!clean) return false;
  try {
    const updated = await ctx.api.updateProject(projectId, { name: clean });
    const s = ctx.store.get();
    ctx.store.set({
      projects: s.projects.map((p) => (p.project_id === projectId ? { ...p, name: updated.name } : p)),
      ...(s.project?.project_id === projectId ? { project: { ...s.project, name: updated.name } } : {}),
    });
    return true;
  } catch (err) {
    fail(ctx, err);
    return false;
  }
}

/** Copy a project's latest version into a new project of this owner; the copy heads the home. */
export async function duplicateProject(ctx: Ctx, projectId: string): Promise<Project | null> {
  try {
    const copy = await ctx.api.duplicateProject(projectId);
    ctx.store.set({ projects: [copy, ...ctx.store.get().projects] });
    toast(ctx, "info", `Copied as “${copy.name}”`);
    return copy;
  } catch (err) {
    fail(ctx, err);
    return null;
  }
}

/** Delete a project; null when done, else why not (the server refuses while it generates
 * or deploys), for the dialog that asked to show. */
export async function deleteProject(ctx: Ctx, projectId: string): Promise<string | null> {
  try {
    await ctx.api.deleteProject(projectId);
  } catch (err) {
    return describeError(err);
  }
  const s = ctx.store.get();
  const name = s.projects.find((p) => p.project_id === projectId)?.name ?? "The project";
  ctx.store.set({ projects: s.projects.filter((p) => p.project_id !== projectId) });
  if (s.project?.project_id === projectId) newProject(ctx);
  toast(ctx, "info", `Deleted “${name}”`);
  return null;
}

/** How many files the editor holds changed but unsaved (kept as a draft on this device). */
export function unsavedCount(ctx: Ctx): number {
  const { project, saved, files } = ctx.store.get();
  if (!project) return 0;
  const changes = diffFiles(saved, files);
  return Object.keys(changes.files).length + changes.deleted.length;
}

/** Refresh the project (its spend) for the settings popover. */
export async function refreshProject(ctx: Ctx): Promise<void> {
  const project = ctx.store.get().project;
  if (!project) return;
  try {
    const fresh = await ctx.api.project(project.project_id);
    const s = ctx.store.get();
    if (s.project?.project_id === fresh.project_id && !isBusy(s)) ctx.store.set({ project: fresh });
  } catch (err) {
    fail(ctx, err);
  }
}

/** Set (or, with null, clear) the project's budget in US dollars. */
export async function setBudget(ctx: Ctx, usd: number | null): Promise<boolean> {
  const project = ctx.store.get().project;
  if (!project) return false;
  try {
    const body = usd === null ? { clear_budget: true } : { budget_usd: usd };
    const updated = await ctx.api.updateProject(project.project_id, body);
    if (ctx.store.get().project?.project_id === updated.project_id) ctx.store.set({ project: updated });
    toast(ctx, "info", usd === null ? "Budget removed" : `Budget set to $${usd.toFixed(2)}`);
    return true;
  } catch (err) {
    fail(ctx, err);
    return false;
  }
}

export async function exportChat(ctx: Ctx): Promise<void> {
  const project = ctx.store.get().project;
  if (!project) return;
  try {
    const blob = await ctx.api.transcript(project.project_id);
    download(blob, `${slug(project.name)}-chat.md`);
  } catch (err) {
    fail(ctx, err);
  }
}
