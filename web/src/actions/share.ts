/** Share: a public, expiring link to the version on screen. */
import type { PreviewLink } from "../api/types";
import type { Ctx } from "./context";

/** A public link to the version on screen (409 version_red when it does not build). */
export async function shareLink(ctx: Ctx): Promise<PreviewLink> {
  const { project, version } = ctx.store.get();
  if (!project || !version) throw new Error("Nothing to share yet.");
  const link = await ctx.api.shareVersion(project.project_id, version);
  return { ...link, url: new URL(link.url, location.origin).href };
}
