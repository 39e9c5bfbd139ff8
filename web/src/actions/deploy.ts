/** Deploys and scheduled redeploys of the version on screen. */
import type { DeployTarget, Deployment, Schedule } from "../api/types";
import { sleep, type Ctx } from "./context";

const FINAL = new Set(["ready", "succeeded", "failed", "error", "cancelled", "canceled"]);
const DEPLOY_POLL_MS = 1000;

/**
 * Start a deploy and report its state until it is final, or until `stillWanted`
 * says nobody is watching any more (the dialog was closed or a new deploy began).
 */
export async function deploy(
  ctx: Ctx,
  target: DeployTarget,
  token: string,
  onState: (d: Deployment) => void,
  stillWanted: () => boolean,
): Promise<void> {
  const { project, version } = ctx.store.get();
  if (!project || !version) return;
  const accepted = await ctx.api.deploy({
    project_id: project.project_id,
    version,
    target,
    ...(token ? { token } : {}),
  });
  while (stillWanted()) {
    const d = await ctx.api.deployment(accepted.deployment_id);
    onState(d);
    if (FINAL.has(d.state)) return;
    await sleep(DEPLOY_POLL_MS);
  }
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
