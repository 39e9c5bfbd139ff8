/**
 * What the user can do, as plain async functions over the store, the API client
 * and the preview. Views call these; nothing here touches the DOM except downloads.
 */
import { ApiError, type ApiClient } from "../api/client";
import { FINAL_STATUSES, type Job, type PreviewLink, type Project, type VersionSummary } from "../api/types";
import { isBusy, isLatest, type AppState, type Problem, type Turn } from "../state/app";
import { draftFor, forgetDraft, keepDraft, withDraft } from "../state/drafts";
import { diffFiles, hasChanges, preferredFile } from "../state/files";
import { formatRoute, parseRoute } from "../state/route";
import type { Store } from "../state/store";
import { applyEvents, startStream, type Files } from "../state/stream";
import { reveal } from "../state/tree";
import { buildProblems } from "../state/health";
import { emptyTurn, progressLines, turnsFromServer, turnsFromVersions, versionTurn, withJob } from "../state/turns";
import { effectsBetween, PreviewBridge } from "./preview-bridge";

const JOB_KEY = "kiln.job";
const POLL_MS = 300;
const BUILD_POLL_MS = 2000;
const BUILD_WAIT_MS = 120_000;

interface SavedJob {
  jobId: string;
  projectId: string;
  prompt: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Words for the error codes a person can act on; the server's message otherwise. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError && err.code === "budget_exceeded") {
    return `${err.message}. Raise the project's budget to continue.`;
  }
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function formatProblem(p: Problem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ""}${p.column ? `:${p.column}` : ""}` : "";
  return where ? `${where}: ${p.message}` : p.message;
}

export class Actions {
  readonly preview: PreviewBridge;
  private polling: string | null = null;
  private watchingBuilds: string | null = null;
  private turnSeq = 0;

  constructor(
    readonly store: Store<AppState>,
    readonly api: ApiClient,
  ) {
    this.preview = new PreviewBridge((p) => this.addProblem(p));
  }

  private get state(): AppState {
    return this.store.get();
  }

  toast(kind: "error" | "info", text: string): void {
    this.store.set({ toast: { kind, text } });
  }

  fail(err: unknown): void {
    this.toast("error", describeError(err));
  }

  // --- start-up and navigation --------------------------------------------------------

  async boot(): Promise<void> {
    try {
      await this.api.ensureSession();
    } catch (err) {
      this.fail(err);
      return;
    }
    void this.api.providers().then(
      (providers) => this.store.set({ providers }),
      () => this.store.set({ providers: [] }),
    );
    void this.refreshProjects();
    const saved = readSavedJob();
    const route = parseRoute(location.hash);
    if (route.projectId) await this.openProject(route.projectId, route.version);
    if (saved && (route.projectId === null || saved.projectId === route.projectId)) {
      this.resume(saved);
    }
    window.addEventListener("hashchange", () => void this.followHash());
  }

  private async followHash(): Promise<void> {
    const route = parseRoute(location.hash);
    const { project, version } = this.state;
    if (route.projectId === (project?.project_id ?? null)) {
      if (route.version !== null && route.version !== version && route.projectId) {
        await this.viewVersion(route.version);
      }
      return;
    }
    if (isBusy(this.state)) return;
    if (route.projectId) await this.openProject(route.projectId, route.version);
    else this.newProject();
  }

  async refreshProjects(): Promise<void> {
    try {
      const projects = await this.api.projects();
      projects.sort((a, b) => b.updated_at.localeCompare(a.updated_at));
      this.store.set({ projects });
    } catch (err) {
      this.fail(err);
    }
  }

  newProject(): void {
    if (isBusy(this.state)) return;
    this.preview.clear();
    this.store.set({
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

  async openProject(projectId: string, version: number | null = null): Promise<void> {
    try {
      const [project, versions, serverTurns] = await Promise.all([
        this.api.project(projectId),
        this.api.versions(projectId),
        this.api.turns(projectId).catch(() => null),
      ]);
      const wanted = version ?? project.latest_version;
      const turns = serverTurns ? turnsFromServer(serverTurns, versions) : turnsFromVersions(versions);
      this.store.set({ project, versions, turns, framework: project.framework, problems: [], job: null });
      if (wanted > 0) await this.showVersion(project, wanted);
      else this.store.set({ version: 0, saved: {}, files: {}, selected: null });
      setHash(project.project_id, version);
      if (!serverTurns) void this.fillTurns(turns);
      void this.watchBuilds();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        this.toast("error", "That project was not found. It may belong to another browser session.");
        this.newProject();
      } else {
        this.fail(err);
      }
    }
  }

  private async showVersion(project: Project, n: number): Promise<void> {
    const v = await this.api.version(project.project_id, n);
    const draft = v.version === project.latest_version ? draftFor(localStorage, project.project_id, v.version) : null;
    const files = draft ? withDraft(v.files, draft) : v.files;
    const paths = Object.keys(files);
    const edited = draft ? Object.keys(draft.files).find((p) => p in files) : undefined;
    const keep = this.state.selected && paths.includes(this.state.selected) ? this.state.selected : null;
    this.store.set({
      version: v.version,
      saved: v.files,
      files,
      selected: edited ?? keep ?? preferredFile(paths),
      problems: buildProblems(v),
    });
    this.preview.load(project.project_id, project.framework, files);
    if (draft) {
      const count = Object.keys(draft.files).length + draft.deleted.length;
      this.toast("info", `Unsaved changes restored (${count} file${count === 1 ? "" : "s"}). Save to keep them.`);
    }
  }

  /** After a reload, bring back each turn's plan and usage from its job (best effort). */
  private async fillTurns(turns: readonly Turn[]): Promise<void> {
    const recent = turns.filter((t) => t.jobId).slice(-20);
    await Promise.all(
      recent.map(async (turn) => {
        try {
          const job = await this.api.job(turn.jobId!, 0);
          this.updateTurn(turn.key, (t) => ({ ...withJob(t, job), status: t.status, version: t.version }));
        } catch {
          // Jobs expire after 30 days; the turn keeps its prompt.
        }
      }),
    );
  }

  async viewVersion(n: number): Promise<void> {
    const project = this.state.project;
    if (!project || isBusy(this.state)) return;
    try {
      await this.showVersion(project, n);
      setHash(project.project_id, n === project.latest_version ? null : n);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Reload the version list, keeping any version this page made meanwhile. */
  async refreshVersions(): Promise<void> {
    const project = this.state.project;
    if (!project) return;
    try {
      const fetched = await this.api.versions(project.project_id);
      if (this.state.project?.project_id !== project.project_id) return;
      const byNumber = new Map(this.state.versions.map((v) => [v.version, v]));
      for (const v of fetched) byNumber.set(v.version, v);
      this.store.set({ versions: [...byNumber.values()].sort((a, b) => b.version - a.version) });
    } catch (err) {
      this.fail(err);
    }
  }

  // --- files --------------------------------------------------------------------------

  select(path: string): void {
    this.store.set({ selected: path, closed: reveal(this.state.closed, path) });
  }

  editFile(path: string, content: string): void {
    if (isBusy(this.state) || this.state.files[path] === content) return;
    this.store.set({ files: { ...this.state.files, [path]: content } });
    const { project, version, saved, files } = this.state;
    if (project && version !== null && isLatest(this.state)) {
      keepDraft(localStorage, project.project_id, version, diffFiles(saved, files));
    }
  }

  /** Applies the editor's content to the running preview (debounced by the editor). */
  previewFile(path: string, content: string): void {
    this.preview.apply([{ kind: "write", path, content }]);
  }

  async save(): Promise<boolean> {
    const { project, version, saved, files } = this.state;
    if (!project || version === null || this.state.saving) return false;
    const changes = diffFiles(saved, files);
    if (!hasChanges(changes)) return true;
    if (!isLatest(this.state)) {
      this.toast("error", `You are viewing v${version}. Restore it first, then edit.`);
      return false;
    }
    this.store.set({ saving: true });
    try {
      const summary = await this.api.saveVersion(project.project_id, {
        base_version: version,
        ...changes,
        message: "Edited by hand",
      });
      const next = { ...project, latest_version: summary.version };
      this.store.set({
        project: next,
        version: summary.version,
        saved: files,
        versions: [summary, ...this.state.versions],
        turns: [...this.state.turns, { ...turnsFromVersions([summary])[0]!, prompt: "Edited by hand" }],
      });
      forgetDraft(localStorage, project.project_id);
      this.toast("info", `Saved as v${summary.version}`);
      void this.refreshProjects();
      void this.watchBuilds();
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.code === "version_conflict") {
        const current = err.details?.["current_version"];
        this.toast("error", `This project changed meanwhile (now v${String(current ?? "?")}). Copy your edits and reload.`);
      } else {
        this.fail(err);
      }
      return false;
    } finally {
      this.store.set({ saving: false });
    }
  }

  async restore(n: number): Promise<void> {
    const project = this.state.project;
    if (!project || isBusy(this.state)) return;
    try {
      const latest = project.latest_version;
      const [old, current] = await Promise.all([
        this.api.version(project.project_id, n),
        this.api.version(project.project_id, latest),
      ]);
      const deleted = Object.keys(current.files).filter((p) => !(p in old.files));
      const summary = await this.api.saveVersion(project.project_id, {
        base_version: latest,
        files: old.files,
        deleted,
        message: `Restored v${n}`,
      });
      this.store.set({ historyOpen: false });
      await this.openProject(project.project_id, null);
      this.toast("info", `Restored v${n} as v${summary.version}`);
      void this.refreshProjects();
    } catch (err) {
      this.fail(err);
    }
  }

  async downloadZip(): Promise<void> {
    const { project, version } = this.state;
    if (!project || !version) return;
    try {
      const blob = await this.api.archive(project.project_id, version);
      download(blob, `${slug(project.name)}-v${version}.zip`);
    } catch (err) {
      this.fail(err);
    }
  }

  // --- generation ---------------------------------------------------------------------

  async send(prompt: string): Promise<boolean> {
    const text = prompt.trim();
    if (!text || isBusy(this.state)) return false;
    if (this.state.project && hasChanges(diffFiles(this.state.saved, this.state.files))) {
      if (!(await this.save())) return false;
    }
    const { project, version, framework, provider, providers } = this.state;
    const key = `t${Date.now()}-${this.turnSeq++}`;
    this.store.set({ turns: [...this.state.turns, emptyTurn(key, text)], problems: [] });
    const chosen = providers.find((p) => p.name === provider);
    try {
      const accepted = await this.api.generate({
        prompt: text,
        framework: project?.framework ?? framework,
        ...(project ? { project_id: project.project_id } : {}),
        ...(project && version !== null && !isLatest(this.state) ? { base_version: version } : {}),
        ...(chosen ? { provider: chosen.name } : {}),
        ...(chosen?.default_model ? { model: chosen.default_model } : {}),
      });
      this.updateTurn(key, (t) => ({
        ...t,
        jobId: accepted.job_id,
        status: "queued",
        notice: accepted.notice ?? null,
        provider: accepted.provider,
      }));
      const saved: SavedJob = { jobId: accepted.job_id, projectId: accepted.project_id, prompt: text };
      sessionStorage.setItem(JOB_KEY, JSON.stringify(saved));
      if (!project) {
        const now = new Date().toISOString();
        this.store.set({
          project: {
            project_id: accepted.project_id,
            name: text.slice(0, 60),
            framework,
            latest_version: 0,
            created_at: now,
            updated_at: now,
          },
          version: 0,
        });
        setHash(accepted.project_id, null);
      }
      this.follow(accepted.job_id, accepted.project_id, key);
      return true;
    } catch (err) {
      const errorCode = err instanceof ApiError ? err.code : null;
      this.updateTurn(key, (t) => ({ ...t, status: "failed", error: describeError(err), errorCode }));
      return false;
    }
  }

  /** Send a failed turn's prompt again. */
  retry(turn: Turn): void {
    void this.send(turn.prompt);
  }

  fix(problem: Problem): void {
    void this.send(`Fix this error: ${formatProblem(problem)}`);
  }

  async cancel(): Promise<void> {
    const job = this.state.job;
    if (!job) return;
    try {
      await this.api.cancelJob(job.jobId);
    } catch (err) {
      this.fail(err);
    }
  }

  private resume(saved: SavedJob): void {
    const key = `resumed-${saved.jobId}`;
    const existing = this.state.turns.find((t) => t.jobId === saved.jobId);
    if (!existing) this.store.set({ turns: [...this.state.turns, { ...emptyTurn(key, saved.prompt), jobId: saved.jobId, status: "queued" }] });
    this.follow(saved.jobId, saved.projectId, existing?.key ?? key);
  }

  /** Start streaming a job into the editor and the preview. */
  private follow(jobId: string, projectId: string, turnKey: string): void {
    const livePreview = this.preview.loadedProject === projectId;
    this.store.set({
      job: { jobId, projectId, turnKey, status: "queued", stream: startStream(this.state.saved), next: 0, livePreview },
    });
    void this.poll(jobId);
  }

  private async poll(jobId: string): Promise<void> {
    this.polling = jobId;
    let failures = 0;
    while (this.polling === jobId) {
      const active = this.state.job;
      if (!active || active.jobId !== jobId) return;
      let job: Job;
      try {
        job = await this.api.job(jobId, active.next);
        failures = 0;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          this.finishJob(null, "This job no longer exists.");
          return;
        }
        failures += 1;
        this.updateTurn(active.turnKey, (t) => ({ ...t, message: `Reconnecting… (${describeError(err)})` }));
        await sleep(Math.min(5000, POLL_MS * 2 ** failures));
        continue;
      }
      this.applyJob(job);
      if (FINAL_STATUSES.includes(job.status)) {
        await this.finishJob(job, null);
        return;
      }
      await sleep(POLL_MS);
    }
  }

  private applyJob(job: Job): void {
    const active = this.state.job;
    if (!active) return;
    const { state: stream, effects } = applyEvents(active.stream, job.events);
    if (active.livePreview) this.preview.apply(effects);
    const writing = stream.writing;
    const patch: Partial<AppState> = {
      job: { ...active, status: job.status, stream, next: job.next },
      files: stream.files,
    };
    // The editor follows the file being written (or the last one written in this batch).
    const follow = writing ?? (job.events.length ? stream.touched.at(-1) : undefined);
    if (follow && follow in stream.files) {
      patch.selected = follow;
      patch.closed = reveal(this.state.closed, follow);
    }
    this.store.set(patch);
    const final = FINAL_STATUSES.includes(job.status);
    this.updateTurn(active.turnKey, (t) => ({
      ...t,
      jobId: job.job_id,
      // A finished job stays "running" here until finishJob has loaded its version.
      status: final ? "running" : job.status,
      plan: stream.plan,
      phase: stream.phase,
      message: final ? "Loading the new version…" : writing ? `Writing ${writing}` : stream.message,
      files: stream.touched,
      progress: [...t.progress, ...progressLines(job.events)],
      usage:
        job.usage ??
        (stream.usage.input_tokens || stream.usage.output_tokens ? { ...stream.usage } : t.usage),
      notice: job.notice ?? t.notice,
      provider: job.provider ?? t.provider,
      model: job.model ?? t.model,
    }));
  }

  private async finishJob(job: Job | null, error: string | null): Promise<void> {
    const active = this.state.job;
    this.polling = null;
    sessionStorage.removeItem(JOB_KEY);
    if (!active) return;
    const failed = !job || job.status !== "succeeded" || job.version === null || job.version === undefined;
    // The turn reads "Saved as vN" only once that version is in the editor.
    const closeTurn = (): void =>
      this.updateTurn(active.turnKey, (t) => ({
        ...(job ? withJob(t, job) : t),
        plan: t.plan || (job ? withJob(t, job).plan : ""),
        message: "",
        error: error ?? job?.error?.message ?? (job?.status === "cancelled" ? "Cancelled." : null),
        errorCode: job?.error?.code ?? null,
      }));
    if (failed) {
      closeTurn();
      // Nothing was saved: go back to the files the job started from.
      const base = active.stream.base;
      if (active.livePreview) this.preview.apply(effectsBetween(active.stream.files, base));
      this.store.set({ job: null, files: base });
      return;
    }
    try {
      const [project, versions, version] = await Promise.all([
        this.api.project(active.projectId),
        this.api.versions(active.projectId),
        this.api.version(active.projectId, job.version!),
      ]);
      const paths = Object.keys(version.files);
      // A new app opens on its entry component; an edit stays on the file it touched last.
      const keep = active.livePreview && this.state.selected && paths.includes(this.state.selected);
      const selected = keep ? this.state.selected : preferredFile(paths);
      closeTurn();
      this.store.set({
        job: null,
        project,
        versions,
        version: version.version,
        saved: version.files,
        files: version.files,
        selected,
        framework: project.framework,
      });
      if (active.livePreview && this.preview.loadedProject === project.project_id) {
        const deps = version.files["package.json"] !== active.stream.files["package.json"];
        if (deps) this.preview.load(project.project_id, project.framework, version.files);
        else this.preview.apply(effectsBetween(active.stream.files, version.files));
      } else {
        this.preview.load(project.project_id, project.framework, version.files);
      }
      setHash(project.project_id, null);
      void this.refreshProjects();
      void this.watchBuilds();
    } catch (err) {
      closeTurn();
      this.store.set({ job: null });
      this.fail(err);
    }
  }

  private updateTurn(key: string, change: (t: Turn) => Turn): void {
    this.store.set({ turns: this.state.turns.map((t) => (t.key === key ? change(t) : t)) });
  }

  // --- build gate, sharing, budget, transcript ---------------------------------------

  /**
   * Poll the version list every 2 s while a recent version's build is unknown (up to
   * 2 minutes after the last change): badges resolve, red builds fill the problems
   * panel, and a fix round the gate made opens when the user was on the latest.
   */
  async watchBuilds(): Promise<void> {
    const pid = this.state.project?.project_id;
    if (!pid || this.watchingBuilds === pid) return;
    this.watchingBuilds = pid;
    let deadline = Date.now() + BUILD_WAIT_MS;
    try {
      while (Date.now() < deadline && pendingBuild(this.state.versions)) {
        await sleep(BUILD_POLL_MS);
        if (this.state.project?.project_id !== pid) return;
        let project: Project;
        let fetched: VersionSummary[];
        try {
          [project, fetched] = await Promise.all([this.api.project(pid), this.api.versions(pid)]);
        } catch {
          continue;
        }
        const s = this.state;
        if (s.project?.project_id !== pid) return;
        const before = new Map(s.versions.map((v) => [v.version, v]));
        const grew = project.latest_version > (s.project.latest_version ?? 0);
        if (grew) deadline = Date.now() + BUILD_WAIT_MS;
        this.store.set({ versions: fetched });
        const shown = fetched.find((v) => v.version === s.version);
        if (shown?.build === "red" && before.get(shown.version)?.build !== "red") {
          for (const p of buildProblems(shown)) this.addProblem(p);
        }
        if (isBusy(this.state)) continue;
        const wasLatest = s.version === s.project.latest_version;
        this.store.set({ project });
        if (grew) {
          const added = fetched.filter((v) => !before.has(v.version) && !this.state.turns.some((t) => t.version === v.version));
          const lines = added.sort((a, b) => a.version - b.version).map(versionTurn);
          this.store.set({ turns: [...this.state.turns, ...lines] });
          if (wasLatest) await this.showVersion(project, project.latest_version);
        }
      }
    } finally {
      if (this.watchingBuilds === pid) this.watchingBuilds = null;
    }
  }

  /** A public link to the version on screen (409 version_red when it does not build). */
  async shareLink(): Promise<PreviewLink> {
    const { project, version } = this.state;
    if (!project || !version) throw new Error("Nothing to share yet.");
    const link = await this.api.shareVersion(project.project_id, version);
    return { ...link, url: new URL(link.url, location.origin).href };
  }

  /** Set (or, with null, clear) the project's budget in US dollars. */
  async setBudget(usd: number | null): Promise<boolean> {
    const project = this.state.project;
    if (!project) return false;
    try {
      const body = usd === null ? { clear_budget: true } : { budget_usd: usd };
      const updated = await this.api.updateProject(project.project_id, body);
      if (this.state.project?.project_id === updated.project_id) this.store.set({ project: updated });
      this.toast("info", usd === null ? "Budget removed" : `Budget set to $${usd.toFixed(2)}`);
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /** Refresh the project (its spend) for the settings popover. */
  async refreshProject(): Promise<void> {
    const project = this.state.project;
    if (!project) return;
    try {
      const fresh = await this.api.project(project.project_id);
      if (this.state.project?.project_id === fresh.project_id && !isBusy(this.state)) this.store.set({ project: fresh });
    } catch (err) {
      this.fail(err);
    }
  }

  async exportChat(): Promise<void> {
    const project = this.state.project;
    if (!project) return;
    try {
      const blob = await this.api.transcript(project.project_id);
      download(blob, `${slug(project.name)}-chat.md`);
    } catch (err) {
      this.fail(err);
    }
  }

  // --- problems -----------------------------------------------------------------------

  addProblem(problem: Problem): void {
    const same = (p: Problem): boolean => p.source === problem.source && p.message === problem.message;
    if (this.state.problems.some(same)) return;
    this.store.set({ problems: [...this.state.problems, problem].slice(-50) });
  }

  clearProblems(): void {
    this.store.set({ problems: [] });
  }
}

function readSavedJob(): SavedJob | null {
  try {
    const raw = sessionStorage.getItem(JOB_KEY);
    return raw ? (JSON.parse(raw) as SavedJob) : null;
  } catch {
    return null;
  }
}

function setHash(projectId: string | null, version: number | null): void {
  const next = formatRoute({ projectId, version });
  if (location.hash !== next && !(next === "#/" && location.hash === "")) {
    history.replaceState(null, "", next);
  }
}

/** Versions whose build the gate has not judged yet, among the newest few. */
function pendingBuild(versions: readonly VersionSummary[]): boolean {
  return [...versions].sort((a, b) => b.version - a.version).slice(0, 3).some((v) => v.build === "unknown");
}

function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40) || "project";
}

export type { Files };
