/** Generations: send a prompt, follow its job into the editor and preview, finish or fail it. */
import { ApiError } from "../api/client";
import { followPushed } from "../api/push";
import { FINAL_STATUSES, type Job } from "../api/types";
import { isBusy, isLatest, type AppState, type Problem, type Turn } from "../state/app";
import { diffFiles, hasChanges, preferredFile } from "../state/files";
import { applyEvents, startStream } from "../state/stream";
import { reveal } from "../state/tree";
import { emptyTurn, progressLines, withJob } from "../state/turns";
import { effectsBetween } from "../ui/preview-bridge";
import { describeError, fail, formatProblem, setHash, sleep, type Ctx } from "./context";
import { refreshProjects } from "./projects";
import { save, watchBuilds } from "./versions";

const JOB_KEY = "kiln.job";
const POLL_MS = 300;

/** The job this tab follows, kept in sessionStorage so a reload picks it up again. */
export interface SavedJob {
  jobId: string;
  projectId: string;
  prompt: string;
}

export function readSavedJob(): SavedJob | null {
  try {
    const raw = sessionStorage.getItem(JOB_KEY);
    return raw ? (JSON.parse(raw) as SavedJob) : null;
  } catch {
    return null;
  }
}

export function updateTurn(ctx: Ctx, key: string, change: (t: Turn) => Turn): void {
  ctx.store.set({ turns: ctx.store.get().turns.map((t) => (t.key === key ? change(t) : t)) });
}

/** Send a prompt (saving hand edits first); false when it was not sent. */
export async function send(ctx: Ctx, prompt: string): Promise<boolean> {
  const text = prompt.trim();
  if (!text || isBusy(ctx.store.get())) return false;
  const before = ctx.store.get();
  if (before.project && hasChanges(diffFiles(before.saved, before.files))) {
    if (!(await save(ctx))) return false;
  }
  const state = ctx.store.get();
  const { project, version, framework, provider, providers } = state;
  const key = `t${Date.now()}-${ctx.turnSeq++}`;
  ctx.store.set({ turns: [...state.turns, emptyTurn(key, text)], problems: [] });
  const chosen = providers.find((p) => p.name === provider);
  try {
    const accepted = await ctx.api.generate({
      prompt: text,
      framework: project?.framework ?? framework,
      ...(project ? { project_id: project.project_id } : {}),
      ...(project && version !== null && !isLatest(state) ? { base_version: version } : {}),
      ...(chosen ? { provider: chosen.name } : {}),
      ...(chosen?.default_model ? { model: chosen.default_model } : {}),
    });
    updateTurn(ctx, key, (t) => ({
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
      ctx.store.set({
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
    follow(ctx, accepted.job_id, accepted.project_id, key);
    return true;
  } catch (err) {
    const errorCode = err instanceof ApiError ? err.code : null;
    updateTurn(ctx, key, (t) => ({ ...t, status: "failed", error: describeError(err), errorCode }));
    return false;
  }
}

/** Send a failed turn's prompt again. */
export function retry(ctx: Ctx, turn: Turn): void {
  void send(ctx, turn.prompt);
}

export function fix(ctx: Ctx, problem: Problem): void {
  void send(ctx, `Fix this error: ${formatProblem(problem)}`);
}

export async function cancel(ctx: Ctx): Promise<void> {
  const job = ctx.store.get().job;
  if (!job) return;
  try {
    await ctx.api.cancelJob(job.jobId);
  } catch (err) {
    // It finished between the click and the request: the poll shows how, no error to report.
    if (err instanceof ApiError && err.code === "job_not_cancellable") return;
    fail(ctx, err);
  }
}

/** Follow again the job a reload interrupted. */
export function resume(ctx: Ctx, saved: SavedJob): void {
  const key = `resumed-${saved.jobId}`;
  const turns = ctx.store.get().turns;
  const existing = turns.find((t) => t.jobId === saved.jobId);
  if (!existing) ctx.store.set({ turns: [...turns, { ...emptyTurn(key, saved.prompt), jobId: saved.jobId, status: "queued" }] });
  follow(ctx, saved.jobId, saved.projectId, existing?.key ?? key);
}

/** Start streaming a job into the editor and the preview. */
function follow(ctx: Ctx, jobId: string, projectId: string, turnKey: string): void {
  const livePreview = ctx.preview.loadedProject === projectId;
  ctx.store.set({
    job: { jobId, projectId, turnKey, status: "queued", stream: startStream(ctx.store.get().saved), next: 0, livePreview },
  });
  void watch(ctx, jobId);
}

const PUSH_ATTEMPTS = 3;

/** Follow the job over the WebSocket, resuming from `next` when it drops; poll instead
 * when it cannot be opened (a proxy or a policy in the way) or keeps dropping. */
async function watch(ctx: Ctx, jobId: string): Promise<void> {
  ctx.polling = jobId;
  for (let attempt = 0; attempt < PUSH_ATTEMPTS && ctx.polling === jobId; attempt++) {
    const active = ctx.store.get().job;
    if (!active || active.jobId !== jobId) return;
    let target: { url: string; token: string };
    try {
      target = await ctx.api.pushTarget();
    } catch {
      break;
    }
    const end = await followPushed({
      ...target,
      jobId,
      after: active.next,
      onJob: (job) => applyJob(ctx, job),
      wanted: () => ctx.polling === jobId,
    });
    if (end.kind === "finished") return finishJob(ctx, end.job, null);
    if (end.kind === "gone") return finishJob(ctx, null, "This job no longer exists.");
    if (end.kind === "refused") break;
  }
  if (ctx.polling === jobId) await poll(ctx, jobId);
}

async function poll(ctx: Ctx, jobId: string): Promise<void> {
  ctx.polling = jobId;
  let failures = 0;
  while (ctx.polling === jobId) {
    const active = ctx.store.get().job;
    if (!active || active.jobId !== jobId) return;
    let job: Job;
    try {
      job = await ctx.api.job(jobId, active.next);
      failures = 0;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        await finishJob(ctx, null, "This job no longer exists.");
        return;
      }
      failures += 1;
      updateTurn(ctx, active.turnKey, (t) => ({ ...t, message: `Reconnecting… (${describeError(err)})` }));
      await sleep(Math.min(5000, POLL_MS * 2 ** failures));
      continue;
    }
    applyJob(ctx, job);
    if (FINAL_STATUSES.includes(job.status)) {
      await finishJob(ctx, job, null);
      return;
    }
    await sleep(POLL_MS);
  }
}

function applyJob(ctx: Ctx, job: Job): void {
  const state = ctx.store.get();
  const active = state.job;
  if (!active) return;
  const { state: stream, effects } = applyEvents(active.stream, job.events);
  if (active.livePreview) ctx.preview.apply(effects);
  const writing = stream.writing;
  const patch: Partial<AppState> = {
    job: { ...active, status: job.status, stream, next: job.next },
    files: stream.files,
  };
  // The editor follows the file being written (or the last one written in this batch).
  const followed = writing ?? (job.events.length ? stream.touched.at(-1) : undefined);
  if (followed && followed in stream.files) {
    patch.selected = followed;
    patch.closed = reveal(state.closed, followed);
  }
  ctx.store.set(patch);
  const final = FINAL_STATUSES.includes(job.status);
  updateTurn(ctx, active.turnKey, (t) => ({
    ...t,
    jobId: job.job_id,
    // A finished job stays "running" here until finishJob has loaded its version.
    status: final ? "running" : job.status,
    plan: stream.plan,
    phase: stream.phase,
    message: final ? "Loading the new version…" : writing ? `Writing ${writing}` : stream.message,
    files: stream.touched,
    progress: [...t.progress, ...progressLines(job.events)],
    usage: job.usage ?? (stream.usage.input_tokens || stream.usage.output_tokens ? { ...stream.usage } : t.usage),
    notice: job.notice ?? t.notice,
    provider: job.provider ?? t.provider,
    model: job.model ?? t.model,
  }));
}

async function finishJob(ctx: Ctx, job: Job | null, error: string | null): Promise<void> {
  const active = ctx.store.get().job;
  ctx.polling = null;
  sessionStorage.removeItem(JOB_KEY);
  if (!active) return;
  const failed = !job || job.status !== "succeeded" || job.version === null || job.version === undefined;
  // The turn reads "Saved as vN" only once that version is in the editor.
  const closeTurn = (): void =>
    updateTurn(ctx, active.turnKey, (t) => ({
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
    if (active.livePreview) ctx.preview.apply(effectsBetween(active.stream.files, base));
    ctx.store.set({ job: null, files: base });
    return;
  }
  try {
    const [project, versions, version] = await Promise.all([
      ctx.api.project(active.projectId),
      ctx.api.versions(active.projectId),
      ctx.api.version(active.projectId, job.version!),
    ]);
    const paths = Object.keys(version.files);
    // A new app opens on its entry component; an edit stays on the file it touched last.
    const current = ctx.store.get().selected;
    const keep = active.livePreview && current && paths.includes(current);
    const selected = keep ? current : preferredFile(paths);
    closeTurn();
    ctx.store.set({
      job: null,
      project,
      versions,
      version: version.version,
      saved: version.files,
      files: version.files,
      selected,
      framework: project.framework,
    });
    if (active.livePreview && ctx.preview.loadedProject === project.project_id) {
      const deps = version.files["package.json"] !== active.stream.files["package.json"];
      if (deps) ctx.preview.load(project.project_id, project.framework, version.files);
      else ctx.preview.apply(effectsBetween(active.stream.files, version.files));
    } else {
      ctx.preview.load(project.project_id, project.framework, version.files);
    }
    setHash(project.project_id, null);
    void refreshProjects(ctx);
    void watchBuilds(ctx);
  } catch (err) {
    closeTurn();
    ctx.store.set({ job: null });
    fail(ctx, err);
  }
}
