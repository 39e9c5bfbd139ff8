/**
 * Hand edits not yet saved, kept in the browser per project so a reload or a switch to
 * another project does not lose them. A draft belongs to the version it was made on:
 * once the project moved on (a generation, a save elsewhere) it no longer applies.
 */
import { hasChanges, type FileChanges } from "./files";
import type { Files } from "./stream";

export interface Draft extends FileChanges {
  version: number;
}

type DraftStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

const key = (projectId: string): string => `kiln.draft.${projectId}`;

/** Keep the changes (or forget the draft when there are none). Storage may be full or off. */
export function keepDraft(storage: DraftStorage, projectId: string, version: number, changes: FileChanges): void {
  try {
    if (!hasChanges(changes)) storage.removeItem(key(projectId));
    else storage.setItem(key(projectId), JSON.stringify({ version, ...changes } satisfies Draft));
  } catch {
    // a draft is a convenience: the editor still holds the edits
  }
}

export function forgetDraft(storage: DraftStorage, projectId: string): void {
  try {
    storage.removeItem(key(projectId));
  } catch {
    // nothing to forget
  }
}

/** The draft made on this version of the project, if any. */
export function draftFor(storage: DraftStorage, projectId: string, version: number): Draft | null {
  let raw: string | null;
  try {
    raw = storage.getItem(key(projectId));
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const draft = JSON.parse(raw) as Partial<Draft>;
    if (draft.version !== version || typeof draft.files !== "object" || !Array.isArray(draft.deleted)) return null;
    return { version, files: { ...draft.files }, deleted: draft.deleted.map(String) };
  } catch {
    return null;
  }
}

/** The version's files with the draft applied. */
export function withDraft(files: Files, draft: Draft): Files {
  const out: Record<string, string> = { ...files, ...draft.files };
  for (const path of draft.deleted) delete out[path];
  return out;
}
