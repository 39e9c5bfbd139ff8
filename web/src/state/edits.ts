/**
 * SEARCH/REPLACE as the model writes it: an exact match first, then a match that
 * ignores differences in indentation and trailing whitespace (models often
 * re-indent the lines they quote), re-indenting the replacement to fit.
 */

export type EditResult = { ok: true; content: string } | { ok: false; reason: string };

export function applySearchReplace(content: string, search: string, replace: string): EditResult {
  if (search === "") return { ok: true, content: content + replace };
  const at = content.indexOf(search);
  if (at >= 0) {
    return { ok: true, content: content.slice(0, at) + replace + content.slice(at + search.length) };
  }
  return fuzzyReplace(content, search, replace);
}

function leading(line: string): string {
  return /^[ \t]*/.exec(line)?.[0] ?? "";
}

function withoutTrailingBlank(lines: string[]): string[] {
  const out = [...lines];
  while (out.length > 0 && out[out.length - 1]!.trim() === "") out.pop();
  while (out.length > 0 && out[0]!.trim() === "") out.shift();
  return out;
}

function fuzzyReplace(content: string, search: string, replace: string): EditResult {
  const lines = content.split("\n");
  const wanted = withoutTrailingBlank(search.split("\n"));
  if (wanted.length === 0) return { ok: false, reason: "empty search block" };
  const norm = (s: string): string => s.trim();
  for (let i = 0; i + wanted.length <= lines.length; i++) {
    let match = true;
    for (let j = 0; j < wanted.length; j++) {
      if (norm(lines[i + j]!) !== norm(wanted[j]!)) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    const have = leading(lines[i]!);
    const had = leading(wanted[0]!);
    const replacement = reindent(replace, had, have);
    const next = [...lines.slice(0, i), ...replacement, ...lines.slice(i + wanted.length)];
    return { ok: true, content: next.join("\n") };
  }
  return { ok: false, reason: "search text not found" };
}

/** Move replacement lines from the indentation the model used to the file's. */
function reindent(replace: string, from: string, to: string): string[] {
  const lines = replace.endsWith("\n") ? replace.slice(0, -1).split("\n") : replace.split("\n");
  if (from === to) return lines;
  return lines.map((line) => {
    if (line.trim() === "") return line;
    if (line.startsWith(from)) return to + line.slice(from.length);
    return line;
  });
}
