// Runs one JavaScript snippet for web/src/preview/snippet.ts; the host terminates this
// worker when it overruns its time. Served from /vendor/ so that it runs under the
// sandbox's CSP (which allows eval), never under the app shell's.
"use strict";

function show(v) {
  if (typeof v === "string") return v;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}

self.onmessage = async (e) => {
  const logs = [];
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    console[level] = (...args) => logs.push(args.map(show).join(" "));
  }
  try {
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
    const value = await new AsyncFunction(e.data.code)();
    self.postMessage({ ok: true, value: show(value), logs });
  } catch (err) {
    self.postMessage({ ok: false, error: String(err), logs });
  }
};
