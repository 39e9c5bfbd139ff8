/** Hand edits in the editor: select a file, change it (kept as a draft), try it in the preview. */
import { isBusy, isLatest } from "../state/app";
import { keepDraft } from "../state/drafts";
import { diffFiles } from "../state/files";
import { reveal } from "../state/tree";
import type { Ctx } from "./context";

export function select(ctx: Ctx, path: string): void {
  ctx.store.set({ selected: path, closed: reveal(ctx.store.get().closed, path) });
}

export function editFile(ctx: Ctx, path: string, content: string): void {
  const before = ctx.store.get();
  if (isBusy(before) || before.files[path] === content) return;
  ctx.store.set({ files: { ...before.files, [path]: content } });
  const s = ctx.store.get();
  if (s.project && s.version !== null && isLatest(s)) {
    keepDraft(localStorage, s.project.project_id, s.version, diffFiles(s.saved, s.files));
  }
}

/** Applies the editor's content to the running preview (debounced by the editor). */
export function previewFile(ctx: Ctx, path: string, content: string): void {
  ctx.preview.apply([{ kind: "write", path, content }]);
}
