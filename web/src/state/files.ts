/** Comparing the editor's files with the saved version, for "Save" and dirty marks. */
import type { Files } from "./stream";

export interface FileChanges {
  files: Record<string, string>;
  deleted: string[];
}

export function diffFiles(saved: Files, current: Files): FileChanges {
  const files: Record<string, string> = {};
  for (const [path, content] of Object.entries(current)) {
    if (saved[path] !== content) files[path] = content;
  }
  const deleted = Object.keys(saved).filter((path) => !(path in current)).sort();
  return { files, deleted };
}

export function hasChanges(changes: FileChanges): boolean {
  return changes.deleted.length > 0 || Object.keys(changes.files).length > 0;
}

/** The file to show first: the app's entry point if there is one. */
export function preferredFile(paths: readonly string[]): string | null {
  const order = [
    "src/App.tsx",
    "src/App.jsx",
    "src/App.vue",
    "src/main.ts",
    "src/main.js",
    "main.py",
    "app.py",
    "index.html",
  ];
  for (const candidate of order) if (paths.includes(candidate)) return candidate;
  return [...paths].sort()[0] ?? null;
}
