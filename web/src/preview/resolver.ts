/**
 * Module resolution for the in-browser bundler: relative and root paths resolve to project
 * files the way Vite would (extensions, index files, `.js` written for a `.ts` file, the
 * `@/` alias for src/); bare imports resolve through the version's import map to ESM that
 * kiln's package service builds (/pkg/name@version/...). Pure: no DOM, no esbuild.
 */

/** An import map as the package service returns it: bare specifier (or "pkg/" prefix) -> URL. */
export interface ImportMap {
  imports: Record<string, string>;
  scopes?: Record<string, Record<string, string>>;
}

export type Resolution =
  | { kind: "file"; path: string }
  | { kind: "package"; specifier: string; url: string }
  | { kind: "missing"; message: string };

export const SOURCE_EXTENSIONS = [".ts", ".tsx", ".js", ".jsx", ".mjs", ".vue", ".json", ".css"];

const NODE_BUILTINS = new Set([
  "fs", "path", "os", "child_process", "http", "https", "net", "crypto", "stream", "url",
  "util", "events", "buffer", "zlib", "worker_threads", "process", "assert", "tls", "dns",
]);

/** Normalise a project path: no leading slash or "./", ".." folded; null when it escapes. */
export function normalizePath(path: string): string | null {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return null;
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out.join("/");
}

export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** `@scope/pkg/sub` -> `@scope/pkg`, `pkg/sub` -> `pkg`. */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

export function isBare(specifier: string): boolean {
  if (specifier.startsWith("node:")) return true;
  return !(
    specifier.startsWith(".") ||
    specifier.startsWith("/") ||
    specifier.startsWith("@/") ||
    /^[a-z][a-z0-9+.-]*:/i.test(specifier)
  );
}

/** Candidates tried, in order, for a path without a matching file. */
function candidates(base: string): string[] {
  const out = [base];
  const js = /\.(m?js|jsx)$/.exec(base);
  if (js) {
    const stem = base.slice(0, -js[0].length);
    out.push(`${stem}.ts`, `${stem}.tsx`);
  }
  for (const ext of SOURCE_EXTENSIONS) out.push(base + ext);
  for (const ext of SOURCE_EXTENSIONS) out.push(`${base}/index${ext}`);
  return out;
}

export function resolveProjectPath(
  specifier: string,
  importer: string,
  files: ReadonlySet<string>,
): string | null {
  const clean = specifier.split(/[?#]/)[0] ?? specifier;
  let joined: string;
  if (clean.startsWith("@/")) joined = `src/${clean.slice(2)}`;
  else if (clean.startsWith("/")) joined = clean;
  else joined = `${dirname(importer)}/${clean}`;
  const base = normalizePath(joined);
  if (base === null) return null;
  return candidates(base).find((c) => files.has(c)) ?? null;
}

/** The URL an import map gives a bare specifier: its exact entry, else the longest "prefix/". */
export function mappedUrl(specifier: string, map: ImportMap): string | null {
  const exact = map.imports[specifier];
  if (exact !== undefined) return exact;
  let best: string | null = null;
  for (const key of Object.keys(map.imports)) {
    if (key.endsWith("/") && specifier.startsWith(key) && (best === null || key.length > best.length)) best = key;
  }
  return best === null ? null : `${map.imports[best]}${specifier.slice(best.length)}`;
}

export function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || NODE_BUILTINS.has(packageName(specifier));
}

/** Why a bare import cannot be served, in words a user can act on. */
export function missingPackageMessage(specifier: string, map: ImportMap): string {
  const pkg = packageName(specifier.replace(/^node:/, ""));
  if (isNodeBuiltin(specifier)) {
    return `"${specifier}" is a Node.js built-in module; it does not exist in the browser`;
  }
  if (Object.keys(map.imports).some((s) => packageName(s) === pkg)) {
    return `"${specifier}" is not a file or export of the package ${pkg}`;
  }
  return (
    `package ${pkg} is imported but not in package.json: ` +
    `add it to "dependencies" (the model does so with <kiln-deps add="${pkg}"/>)`
  );
}

export function resolveImport(
  specifier: string,
  importer: string,
  files: ReadonlySet<string>,
  map: ImportMap,
): Resolution {
  if (isBare(specifier)) {
    // npm's "buffer" or "events" polyfills win over the built-in of the same name when declared.
    const url = specifier.startsWith("node:") ? null : mappedUrl(specifier, map);
    if (url !== null) return { kind: "package", specifier, url };
    return { kind: "missing", message: missingPackageMessage(specifier, map) };
  }
  if (/^(https?|data|blob):/i.test(specifier)) {
    return { kind: "missing", message: `remote import "${specifier}" is not loaded by the preview` };
  }
  const path = resolveProjectPath(specifier, importer, files);
  if (path === null) {
    const from = importer === "" ? "" : ` (imported from ${importer})`;
    return { kind: "missing", message: `cannot find "${specifier}"${from} in the project` };
  }
  return { kind: "file", path };
}
