/** Deploys and scheduled redeploys of the version on screen. */
import { followPushed } from "../api/push";
import type { DeployTarget, Deployment, Schedule } from "../api/types";
import { sleep, type Ctx } from "./context";

const FINAL = new Set(["ready", "succeeded", "failed", "error", "cancelled", "canceled"]);
const DEPLOY_POLL_MS = 1000;
/** Follows in a row that brought nothing before the dialog polls instead. */
const PUSH_ATTEMPTS = 3;

/** Whether the deployment has ended, live or not: nothing will change it any more. */
export function isFinal(d: Deployment): boolean {
  return FINAL.has(d.state);
}

/**
 * Start a deploy and report its state until it is final, or until `stillWanted`
 * says nobody is watching any more (the dialog was closed or a new deploy began).
 * The worker's own words ("building the site", "uploading 12 files") reach `onProgress`
 * over the push socket as it writes them; where the socket cannot be had, the deployment
 * is polled instead.
 */
export async function deploy(
  ctx: Ctx,
  target: DeployTarget,
  token: string,
  onState: (d: Deployment) => void,
  stillWanted: () => boolean,
  onProgress: (message: string) => void = () => undefined,
): Promise<void> {
  const { project, version } = ctx.store.get();
  if (!project || !version) return;
  const accepted = await ctx.api.deploy({
    project_id: project.project_id,
    version,
    target,
    ...(token ? { token } : {}),
  });
  const first = await ctx.api.deployment(accepted.deployment_id);
  onState(first);
  if (isFinal(first)) return;
  if (await followJob(ctx, accepted.job_id, onProgress, stillWanted)) {
    if (stillWanted()) onState(await ctx.api.deployment(accepted.deployment_id));
    return;
  }
  while (stillWanted()) {
    const d = await ctx.api.deployment(accepted.deployment_id);
    onState(d);
    if (isFinal(d)) return;
    await sleep(DEPLOY_POLL_MS);
  }
}

/** Follow the deploy's job over the push socket until it finishes: true when it did. */
async function followJob(
  ctx: Ctx,
  jobId: string,
  onProgress: (message: string) => void,
  stillWanted: () => boolean,
): Promise<boolean> {
  let target: { url: string; token: string };
  try {
    target = await ctx.api.pushTarget();
  } catch {
    return false;
  }
  let after = 0;
  for (let fruitless = 0; fruitless < PUSH_ATTEMPTS && stillWanted(); ) {
    const before = after;
    const end = await followPushed({
      ...target,
      jobId,
      after,
      wanted: stillWanted,
      onJob: (job) => {
        after = job.next;
        for (const event of job.events) if (event.type === "status" && event.message) onProgress(event.message);
      },
    });
    if (end.kind === "finished") return true;
    if (end.kind !== "lost") return false;
    fruitless = after > before ? 0 : fruitless + 1;
  }
  return false;
}

export async function listSchedules(ctx: Ctx): Promise<Schedule[]> {
  const pid = ctx.store.get().project?.project_id;
  return pid ? ctx.api.schedules(pid) : [];
}

export async function createSchedule(ctx: Ctx, expression: string, target: DeployTarget, token: string): Promise<void> {
  const pid = ctx.store.get().project?.project_id;
  if (!pid) return;
  await ctx.api.createSchedule(pid, { expression, target, ...(token ? { token } : {}) });
}

export async function deleteSchedule(ctx: Ctx, scheduleId: string): Promise<void> {
  const pid = ctx.store.get().project?.project_id;
  if (!pid) return;
  await ctx.api.deleteSchedule(pid, scheduleId);
}
