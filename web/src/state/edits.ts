/**
 * SEARCH/REPLACE as the model writes it, by the same rule as the server's `apply_edit`
 * (src/kiln/files.py, whose docstring states it); both run the cases in
 * tests/fixtures/search_replace.json, and fail with the same messages.
 */

export type EditResult = { ok: true; content: string } | { ok: false; reason: string };

const NOT_FOUND = "SEARCH block not found";
const EMPTY = "empty SEARCH block on a non-empty file";
const several = (n: number): string => `SEARCH block matches ${n} places; add more context`;

export function applySearchReplace(content: string, search: string, replace: string): EditResult {
  if (search.trim() === "") {
    return content.trim() === "" ? { ok: true, content: replace } : { ok: false, reason: EMPTY };
  }
  const count = content.split(search).length - 1;
  if (count === 1) {
    const at = content.indexOf(search);
    return { ok: true, content: content.slice(0, at) + replace + content.slice(at + search.length) };
  }
  for (const key of [bare, (l: string) => l.trimEnd(), (l: string) => l.trim()]) {
    const result = applyLines(content, search, replace, key);
    if (result !== null) return result;
  }
  return { ok: false, reason: count > 1 ? several(count) : NOT_FOUND };
}

/** Lines with their endings; only \r\n, \r and \n end a line (as on the server). */
function lines(text: string): string[] {
  return text.match(/[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$/g) ?? [];
}

function bare(line: string): string {
  return line.replace(/[\r\n]+$/, "");
}

function indent(line: string): string {
  return /^\s*/.exec(line)?.[0] ?? "";
}

/** Drop blank lines around the SEARCH block, and as many around the replacement. */
function trimBlankEnds(search: string[], replace: string[]): [string[], string[]] {
  let s = search;
  let r = replace;
  while (s.length > 0 && s[0]!.trim() === "") {
    s = s.slice(1);
    if (r.length > 0 && r[0]!.trim() === "") r = r.slice(1);
  }
  while (s.length > 0 && s[s.length - 1]!.trim() === "") {
    s = s.slice(0, -1);
    if (r.length > 0 && r[r.length - 1]!.trim() === "") r = r.slice(0, -1);
  }
  return [s, r];
}

function applyLines(
  content: string,
  search: string,
  replace: string,
  key: (line: string) => string,
): EditResult | null {
  const have = lines(content);
  const [wanted, repl] = trimBlankEnds(lines(search).map(bare), lines(replace).map(bare));
  if (wanted.length === 0) return null;
  const keys = have.map(key);
  const want = wanted.map(key);
  const starts: number[] = [];
  for (let i = 0; i + want.length <= keys.length; i++) {
    if (want.every((w, j) => keys[i + j] === w)) starts.push(i);
  }
  if (starts.length === 0) return null;
  if (starts.length > 1) return { ok: false, reason: several(starts.length) };
  const start = starts[0]!;
  const matched = have.slice(start, start + want.length);
  const last = matched[matched.length - 1]!;
  const [from, to] = [indent(wanted[0]!), indent(matched[0]!)];
  const moved = repl.map((line) =>
    from === to || line.trim() === "" || !line.startsWith(from) ? line : to + line.slice(from.length),
  );
  const newline = last.endsWith("\r\n") ? "\r\n" : "\n";
  let text = moved.join(newline);
  if (/[\r\n]$/.test(last) && moved.length > 0) text += newline;
  return {
    ok: true,
    content: have.slice(0, start).join("") + text + have.slice(start + want.length).join(""),
  };
}
