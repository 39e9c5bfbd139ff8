/** Acceptance checks: read a version's, add or edit one by hand, or ask the model for one. */
import { ApiError } from "../api/client";
import type { CheckEdit, VersionChecks } from "../api/types";
import { isBusy, isLatest } from "../state/app";
import { fail, toast, type Ctx } from "./context";
import { send } from "./generate";
import { openProject, refreshProjects } from "./projects";
import { watchBuilds } from "./versions";

export async function loadChecks(ctx: Ctx): Promise<VersionChecks | null> {
  const { project, version } = ctx.store.get();
  if (!project || !version) return null;
  return ctx.api.checks(project.project_id, version);
}

/** Save a hand-written check (or remove one, `body` null) as a new version; false on failure. */
export async function saveCheck(ctx: Ctx, name: string, body: string | null, replaces?: string): Promise<boolean> {
  const state = ctx.store.get();
  const { project, version } = state;
  if (!project || version === null || isBusy(state)) return false;
  if (!isLatest(state)) {
    toast(ctx, "error", `You are viewing v${version}. Restore it first, then edit its checks.`);
    return false;
  }
  try {
    const edit: CheckEdit = { base_version: version, name, body: body ?? "", ...(replaces && replaces !== name ? { replaces } : {}) };
    const summary =
      body === null ? await ctx.api.deleteCheck(project.project_id, name, version) : await ctx.api.putCheck(project.project_id, edit);
    await openProject(ctx, project.project_id, null);
    toast(ctx, "info", `Saved as v${summary.version}`);
    void refreshProjects(ctx);
    void watchBuilds(ctx);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.code === "check_invalid") toast(ctx, "error", `The check does not read right: ${err.message}`);
    else fail(ctx, err);
    return false;
  }
}

/** A check described in words: the model writes it (and changes nothing else). */
export function describeCheck(ctx: Ctx, words: string): Promise<boolean> {
  const text = words.trim();
  if (!text) return Promise.resolve(false);
  return send(ctx, `Add an acceptance check (a kiln-check block; change nothing else): ${text}`);
}

export async function screenshotUrl(ctx: Ctx, version: number, index: number): Promise<string | null> {
  const project = ctx.store.get().project;
  if (!project) return null;
  const blob = await ctx.api.checkScreenshot(project.project_id, version, index);
  return URL.createObjectURL(blob);
}
