/** Before leaving a project with unsaved hand edits, say where they go and ask. */
import type { Ctx } from "../actions/context";
import { unsavedCount } from "../actions/projects";

export function confirmLeave(ctx: Ctx): boolean {
  const n = unsavedCount(ctx);
  if (n === 0) return true;
  const name = ctx.store.get().project?.name ?? "this project";
  return window.confirm(
    `You have unsaved changes in ${n} file${n === 1 ? "" : "s"} of “${name}”. ` +
      "They stay on this device as a draft and come back when you reopen the project. Switch anyway?",
  );
}
