/**
 * The documents loaded into the sandboxed preview iframe (origin "null"). Each starts with
 * a small reporter that posts runtime errors, unhandled rejections and console output to
 * the parent, so a broken app shows as a problem instead of a blank pane.
 */
import type { Problem } from "./problems";
import type { ImportMap } from "./resolver";

/** Messages the frame posts to the parent; all carry `kiln: "preview"`. */
export type FrameMessage =
  | { kiln: "preview"; type: "problem"; problem: Problem }
  | { kiln: "preview"; type: "console"; level: string; text: string }
  | { kiln: "preview"; type: "ready" }
  | { kiln: "preview"; type: "dom-event"; id: number; event: string; value?: string; checked?: boolean };

export function isFrameMessage(data: unknown): data is FrameMessage {
  return typeof data === "object" && data !== null && (data as { kiln?: unknown }).kiln === "preview";
}

/** Inline scripts must not close their own tag. */
function scriptSafe(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

function escapeAttr(text: string): string {
  return escapeHtml(text).replace(/'/g, "&#39;");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
}

function reporter(parentOrigin: string): string {
  return `<script>(function () {
  var P = ${JSON.stringify(parentOrigin)};
  function send(m) { m.kiln = "preview"; try { parent.postMessage(m, P); } catch (e) {} }
  function fmt(v) {
    if (v instanceof Error) return v.stack && v.stack.indexOf(v.message) >= 0 ? v.stack : v.name + ": " + v.message;
    if (typeof v === "string") return v;
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  }
  function problem(source, message, line, column) {
    var p = { source: source, message: message };
    if (line) { p.line = line; p.column = column; }
    send({ type: "problem", problem: p });
  }
  addEventListener("error", function (e) {
    // a preload that fails is only a hint: the import it served names the package and why
    if (e.target && e.target.rel === "modulepreload") return;
    if (e.target && e.target !== window && (e.target.src || e.target.href)) {
      problem("runtime", "failed to load " + (e.target.src || e.target.href));
      return;
    }
    problem("runtime", e.error ? fmt(e.error) : String(e.message), e.lineno, e.colno);
  }, true);
  addEventListener("unhandledrejection", function (e) {
    problem("runtime", "Unhandled promise rejection: " + fmt(e.reason));
  });
  ["log", "info", "warn", "error", "debug"].forEach(function (level) {
    var orig = console[level];
    console[level] = function () {
      var text = Array.prototype.map.call(arguments, fmt).join(" ");
      send({ type: "console", level: level, text: text });
      if (level === "error") problem("console", text);
      return orig.apply(console, arguments);
    };
  });
  // The sandbox (no allow-same-origin) has no storage: apps that use it get an in-memory one.
  ["localStorage", "sessionStorage"].forEach(function (name) {
    try { window[name].length; return; } catch (e) {}
    var data = new Map();
    var store = {
      getItem: function (k) { k = String(k); return data.has(k) ? data.get(k) : null; },
      setItem: function (k, v) { data.set(String(k), String(v)); },
      removeItem: function (k) { data.delete(String(k)); },
      clear: function () { data.clear(); },
      key: function (i) { return Array.from(data.keys())[i] ?? null; },
      get length() { return data.size; }
    };
    try { Object.defineProperty(window, name, { value: store, configurable: true }); } catch (e) {}
  });
  window.__kilnReady = function () { send({ type: "ready" }); };
})();</script>`;
}

/** What the frame's Tailwind compiler is fed (see ./tailwind). */
export interface TailwindInput {
  /** URL of the vendored `tailwindcss` compiler module; its stylesheets sit next to it. */
  compiler: string;
  /** Project stylesheets that use Tailwind, compiled in this order. */
  entries: string[];
  /** Every project stylesheet (v4 form), for entries and their `@import`s. */
  sources: Record<string, string>;
  /** Project configs and plugins bundled as ES modules, evaluated only here. */
  modules: Record<string, string>;
  candidates: string[];
}

export interface AppDocument {
  indexHtml: string | undefined;
  js: string;
  css: string;
  importMap: ImportMap;
  parentOrigin: string;
  /** Stylesheets imported from packages, linked in this order. */
  packageCss?: string[];
  /** The package URLs the bundle imports: fetched to name one that fails to load. */
  packageUrls?: string[];
  /** Modules to fetch at once (the bundle's packages, the Tailwind compiler), while the
   * frame is still busy, instead of one level of imports after another. */
  preload?: string[];
  tailwind?: TailwindInput | null;
  /** Tailwind's CSS compiled by the page (then `tailwind` is null): styled from the start. */
  tailwindCss?: string;
  /** Package-service error code -> what a person can do about it. */
  advice?: Record<string, string>;
}

const DEFAULT_SHELL = `<!doctype html><html><head><meta charset="utf-8"><title>Preview</title></head><body><div id="root"></div><div id="app"></div></body></html>`;

/** Stylesheets the project's index.html links from the project itself (paths). */
export function linkedStylesheets(indexHtml: string): string[] {
  const out: string[] = [];
  for (const tag of indexHtml.match(/<link\b[^>]*>/gi) ?? []) {
    if (!/\brel=["']stylesheet["']/i.test(tag)) continue;
    const href = /\bhref=["']([^"']+)["']/i.exec(tag)?.[1];
    if (href && !/^[a-z]+:|^\/\//i.test(href)) out.push(href.replace(/^\.?\//, ""));
  }
  return out;
}

/** The project's index.html with its local module scripts and stylesheets replaced by the bundle. */
export function appDocument(doc: AppDocument): string {
  let html = doc.indexHtml ?? DEFAULT_SHELL;
  html = html.replace(/<script\b[^>]*\btype=["']module["'][^>]*\bsrc=["'](?![a-z]+:|\/\/)[^"']*["'][^>]*>\s*<\/script>/gi, "");
  html = html.replace(/<script\b[^>]*\bsrc=["'](?![a-z]+:|\/\/)[^"']*["'][^>]*\btype=["']module["'][^>]*>\s*<\/script>/gi, "");
  html = html.replace(/<link\b[^>]*\brel=["']stylesheet["'][^>]*>/gi, (tag) =>
    /\bhref=["'](?:[a-z]+:|\/\/)/i.test(tag) ? tag : "",
  );
  const preload = [...new Set([...(doc.tailwind ? [doc.tailwind.compiler] : []), ...(doc.preload ?? [])])];
  // the stylesheet `@import "tailwindcss"` loads, fetched by the compiler once it runs
  const twCss = doc.tailwind ? doc.tailwind.compiler.slice(0, doc.tailwind.compiler.lastIndexOf("/") + 1) + "index.css" : null;
  const links =
    preload.map((u) => `<link rel="modulepreload" href="${escapeAttr(u)}">`).join("") +
    (twCss ? `<link rel="preload" as="fetch" crossorigin href="${escapeAttr(twCss)}">` : "") +
    (doc.packageCss ?? []).map((u) => `<link rel="stylesheet" href="${escapeAttr(u)}">`).join("");
  const head =
    `<meta charset="utf-8">${reporter(doc.parentOrigin)}` +
    `<script type="importmap">${scriptSafe(JSON.stringify(doc.importMap))}</script>${links}`;
  const styleTag = (kind: string, css: string): string => `<style data-kiln="${kind}">${css.replace(/<\/style/gi, "<\\/style")}</style>`;
  const style = (doc.tailwindCss ? styleTag("tailwind", doc.tailwindCss) : "") + (doc.css ? styleTag("bundle", doc.css) : "");
  const body = `<script type="module">${scriptSafe(starter(doc))}</script>`;
  html = /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (m) => m + head) : head + html;
  html = /<\/head>/i.test(html) ? html.replace(/<\/head>/i, `${style}</head>`) : style + html;
  html = /<\/body>/i.test(html) ? html.replace(/<\/body>(?![\s\S]*<\/body>)/i, `${body}</body>`) : html + body;
  return html;
}

/**
 * The frame's module script: Tailwind first (so the first paint is styled), then the app
 * bundle through a dynamic import, so that a package that fails to load is named (its
 * /pkg answer says why) on the Problems panel and in the pane instead of a blank page.
 */
function starter(doc: AppDocument): string {
  const data = {
    js: doc.js,
    urls: doc.packageUrls ?? [],
    tw: doc.tailwind ?? null,
    advice: doc.advice ?? {},
  };
  return `performance.mark("kiln:frame-start");
const K = ${JSON.stringify(data)};
const P = ${JSON.stringify(doc.parentOrigin)};
function send(m) { m.kiln = "preview"; try { parent.postMessage(m, P); } catch (e) {} }
function shown(title, message) {
  const box = document.createElement("div");
  box.setAttribute("style", "font:14px/1.5 system-ui,sans-serif;margin:16px;padding:12px 16px;border-left:3px solid #f87171;background:#fef2f2;color:#7f1d1d");
  const h = document.createElement("h1");
  h.dataset.testid = "preview-error";
  h.setAttribute("style", "font-size:15px;margin:0 0 6px");
  h.textContent = title;
  const pre = document.createElement("pre");
  pre.setAttribute("style", "white-space:pre-wrap;margin:0;font:13px/1.45 ui-monospace,monospace");
  pre.textContent = message;
  box.append(h, pre);
  document.body.prepend(box);
}
function dir(p) { const i = p.lastIndexOf("/"); return i < 0 ? "" : p.slice(0, i); }
function join(base, id) {
  const out = [];
  for (const part of ((base ? base + "/" : "") + id).split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop(); else out.push(part);
  }
  return out.join("/");
}
function blobModule(code) { return URL.createObjectURL(new Blob([code], { type: "text/javascript" })); }
async function tailwind(T) {
  const { compile } = await import(T.compiler);
  performance.mark("kiln:tailwind-loaded");
  const root = T.compiler.slice(0, T.compiler.lastIndexOf("/") + 1);
  async function loadStylesheet(id, base) {
    if (id === "tailwindcss" || id.startsWith("tailwindcss/")) {
      const file = id === "tailwindcss" ? "index.css" : id.slice("tailwindcss/".length);
      const r = await fetch(root + file);
      if (!r.ok) throw new Error("Tailwind stylesheet " + id + ": HTTP " + r.status);
      return { path: id, base: "", content: await r.text() };
    }
    const path = join(base, id);
    if (!(path in T.sources)) throw new Error("cannot find stylesheet " + id + " (from " + (base || "the project root") + ")");
    return { path, base: dir(path), content: T.sources[path] };
  }
  async function loadModule(id, base) {
    const path = join(base, id);
    const local = T.modules[path] ?? T.modules[path + ".js"] ?? T.modules[path + ".ts"];
    const m = local !== undefined ? await import(blobModule(local)) : await import(id);
    return { path, base: dir(path), module: m.default ?? m };
  }
  let css = "";
  for (const p of T.entries) {
    const c = await compile(T.sources[p], { base: dir(p), from: p, loadStylesheet, loadModule });
    css += c.build(T.candidates);
  }
  performance.mark("kiln:tailwind-compiled");
  const style = document.createElement("style");
  style.dataset.kiln = "tailwind";
  style.textContent = css;
  document.head.insertBefore(style, document.querySelector('style[data-kiln="bundle"]'));
}
async function explain(err) {
  for (const url of K.urls) {
    let r;
    try { r = await fetch(url); } catch (e) {
      return { message: "cannot reach the package service for " + url + " (" + K.advice.registry_unavailable + ")", code: "registry_unavailable" };
    }
    if (r.ok) continue;
    let body = null;
    try { body = await r.json(); } catch (e) {}
    const code = body && body.error && body.error.code || "http_" + r.status;
    const message = body && body.error && body.error.message || "HTTP " + r.status + " for " + url;
    return { message: K.advice[code] ? message + " (" + K.advice[code] + ")" : message, code };
  }
  return null;
}
// Tailwind compiles while the app's packages load; the app's own code (after its imports)
// waits for it, so the first paint is styled.
globalThis.__kilnStyled = K.tw ? tailwind(K.tw).catch((e) => {
  send({ type: "problem", problem: { source: "build", message: "Tailwind: " + (e && e.message || e) } });
}) : null;
try {
  await import(blobModule('performance.mark("kiln:packages-evaluated");await globalThis.__kilnStyled;\\n' + K.js));
  performance.mark("kiln:app-started");
  window.__kilnReady();
} catch (err) {
  const why = await explain(err);
  if (why) {
    send({ type: "problem", problem: { source: "build", file: "package.json", message: why.message, code: why.code } });
    shown("A package could not be loaded", why.message);
  } else {
    shown("The app failed to start", err && err.stack || String(err));
    throw err;
  }
  window.__kilnReady();
}`;
}

/** Shown instead of the app when the build fails: the problems, plainly. */
export function errorDocument(title: string, problems: Problem[], parentOrigin: string): string {
  const items = problems
    .map((p) => {
      const where = p.file ? `<div class="where">${escapeHtml(p.file)}${p.line ? `:${p.line}` : ""}${p.column ? `:${p.column}` : ""}</div>` : "";
      return `<li>${where}<pre>${escapeHtml(p.message)}</pre></li>`;
    })
    .join("");
  return `<!doctype html><html><head><meta charset="utf-8">${reporter(parentOrigin)}<style>
body{font:14px/1.5 system-ui,sans-serif;margin:0;padding:24px;background:#1e1e24;color:#f4f4f5}
h1{font-size:16px;color:#f87171;margin:0 0 12px} ul{list-style:none;padding:0;margin:0}
li{background:#2a2a33;border-left:3px solid #f87171;padding:8px 12px;margin:0 0 8px;border-radius:4px}
.where{color:#a1a1aa;font-size:12px} pre{white-space:pre-wrap;margin:4px 0 0;font:13px/1.45 ui-monospace,monospace}
</style></head><body><h1 data-testid="preview-error">${escapeHtml(title)}</h1><ul>${items}</ul></body></html>`;
}

/** A neutral page while nothing is loaded or an engine starts. */
export function messageDocument(text: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><style>body{font:14px system-ui,sans-serif;color:#71717a;display:grid;place-items:center;height:100vh;margin:0}</style></head><body><p data-testid="preview-message">${escapeHtml(text)}</p></body></html>`;
}

/**
 * The page of a Python project: applies the DOM operations the Pyodide worker records
 * (see ./python-dom) and shows the program's output below; sends events back.
 */
export function pythonDocument(parentOrigin: string): string {
  return `<!doctype html><html><head><meta charset="utf-8">${reporter(parentOrigin)}<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;padding:16px}
#kiln-output{margin-top:16px;border-top:1px solid #e4e4e7;padding-top:8px}
#kiln-output h2{font-size:12px;text-transform:uppercase;color:#71717a;margin:0 0 4px}
#kiln-output pre{margin:0;white-space:pre-wrap;font:13px/1.45 ui-monospace,monospace}
</style><script>(function () {
  var P = ${JSON.stringify(parentOrigin)};
  var nodes = {};
  function node(id) { return nodes[id]; }
  function send(m) { m.kiln = "preview"; parent.postMessage(m, P); }
  function sync(id, el) {
    ["input", "change"].forEach(function (t) {
      el.addEventListener(t, function () { send({ type: "dom-event", id: id, event: "__sync", value: el.value, checked: el.checked }); });
    });
  }
  function apply(o) {
    var el = node(o.id);
    switch (o.op) {
      case "create": nodes[o.id] = document.createElement(o.tag); if (/^(INPUT|TEXTAREA|SELECT)$/.test(nodes[o.id].tagName)) sync(o.id, nodes[o.id]); break;
      case "text": el.textContent = o.text; break;
      case "html": el.innerHTML = o.html; break;
      case "prop": el[o.name] = o.value; break;
      case "attr": if (o.value === null) el.removeAttribute(o.name); else el.setAttribute(o.name, o.value); break;
      case "style": el.style.setProperty(o.name, o.value); break;
      case "append": node(o.parent).insertBefore(node(o.child), o.before === undefined ? null : node(o.before)); break;
      case "remove": if (el) el.remove(); break;
      case "title": document.title = o.text; break;
      case "listen": el.addEventListener(o.event, function (e) {
        if (o.event === "submit") e.preventDefault();
        send({ type: "dom-event", id: o.id, event: o.event, value: el.value, checked: el.checked });
      }); break;
    }
  }
  addEventListener("message", function (e) {
    if (e.source !== parent || !e.data) return;
    if (e.data.kiln === "py-dom") e.data.ops.forEach(function (o) { try { apply(o); } catch (err) { console.error("preview DOM mirror: " + err); } });
    if (e.data.kiln === "py-out") {
      var out = document.getElementById("kiln-output");
      out.hidden = false;
      out.querySelector("pre").textContent += e.data.text;
    }
  });
  addEventListener("DOMContentLoaded", function () {
    nodes[0] = document.getElementById("kiln-py-body");
    nodes[-1] = document.head;
    window.__kilnReady();
  });
})();</script></head><body><div id="kiln-py-body"></div><section id="kiln-output" hidden><h2>Output</h2><pre data-testid="python-output"></pre></section></body></html>`;
}
