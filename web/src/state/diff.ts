/** What changed between two versions' files, file by file, as lines with a little context. */
import { diffLines } from "diff";
import type { Files } from "./stream";

export interface DiffLine {
  kind: "add" | "del" | "same" | "gap";
  text: string;
}

export interface FileDiff {
  path: string;
  status: "added" | "removed" | "changed";
  added: number;
  removed: number;
  lines: DiffLine[];
}

const CONTEXT = 3;

function splitLines(value: string): string[] {
  const lines = value.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Unchanged runs longer than twice the context fold into one "gap" line. */
function fold(lines: DiffLine[]): DiffLine[] {
  const out: DiffLine[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i]!.kind !== "same") {
      out.push(lines[i++]!);
      continue;
    }
    let j = i;
    while (j < lines.length && lines[j]!.kind === "same") j++;
    const run = lines.slice(i, j);
    const head = i === 0 ? 0 : CONTEXT;
    const tail = j === lines.length ? 0 : CONTEXT;
    if (run.length > head + tail + 1) {
      out.push(...run.slice(0, head), { kind: "gap", text: `${run.length - head - tail} unchanged lines` }, ...run.slice(run.length - tail));
    } else {
      out.push(...run);
    }
    i = j;
  }
  return out;
}

export function diffFilesByLine(before: Files, after: Files): FileDiff[] {
  const paths = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const result: FileDiff[] = [];
  for (const path of paths) {
    const old = before[path];
    const now = after[path];
    if (old === now) continue;
    const lines: DiffLine[] = [];
    for (const change of diffLines(old ?? "", now ?? "")) {
      const kind = change.added ? "add" : change.removed ? "del" : "same";
      for (const text of splitLines(change.value)) lines.push({ kind, text });
    }
    result.push({
      path,
      status: old === undefined ? "added" : now === undefined ? "removed" : "changed",
      added: lines.filter((l) => l.kind === "add").length,
      removed: lines.filter((l) => l.kind === "del").length,
      lines: fold(lines),
    });
  }
  return result;
}
