/**
 * Module resolution for the in-browser bundler: relative and root paths resolve to project
 * files the way Vite would (extensions, index files, `.js` written for a `.ts` file, the
 * `@/` alias for src/); bare imports resolve to ESM vendor files on kiln's own origin
 * through an import map. Pure: no DOM, no esbuild, so it is tested on its own.
 */

/** What scripts/build-vendor.mjs writes to /vendor/manifest.json. */
export interface VendorManifest {
  /** bare specifier -> file name under /vendor/ */
  imports: Record<string, string>;
  versions?: Record<string, string>;
}

export type Resolution =
  | { kind: "file"; path: string }
  | { kind: "vendor"; specifier: string; url: string }
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

export function vendorUrl(file: string, origin: string): string {
  return `${origin.replace(/\/$/, "")}/vendor/${file}`;
}

/** Why a bare import cannot be served, in words a user can act on. */
export function missingPackageMessage(specifier: string, vendor: VendorManifest): string {
  const pkg = packageName(specifier.replace(/^node:/, ""));
  if (specifier.startsWith("node:") || NODE_BUILTINS.has(pkg)) {
    return `"${specifier}" is a Node.js module; it does not exist in the browser preview`;
  }
  const available = Object.keys(vendor.imports).sort().join(", ");
  if (Object.keys(vendor.imports).some((s) => packageName(s) === pkg)) {
    return `"${specifier}" is not available in the in-browser preview (of ${pkg} it serves: ${available})`;
  }
  return (
    `package ${pkg} is not available in the in-browser preview ` +
    `(it serves: ${available}); the full preview (WebContainer) or a build installs it`
  );
}

export function resolveImport(
  specifier: string,
  importer: string,
  files: ReadonlySet<string>,
  vendor: VendorManifest,
  origin: string,
): Resolution {
  if (isBare(specifier)) {
    const file = vendor.imports[specifier];
    if (file !== undefined) return { kind: "vendor", specifier, url: vendorUrl(file, origin) };
    return { kind: "missing", message: missingPackageMessage(specifier, vendor) };
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

/** The iframe's import map: absolute URLs, since the sandboxed frame's origin is "null". */
export function importMap(vendor: VendorManifest, origin: string): { imports: Record<string, string> } {
  const imports: Record<string, string> = {};
  for (const [specifier, file] of Object.entries(vendor.imports)) {
    imports[specifier] = vendorUrl(file, origin);
  }
  return { imports };
}
