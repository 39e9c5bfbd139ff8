/** Runs one JavaScript snippet off the main thread; the host terminates it on timeout. */
const scope = globalThis as unknown as {
  postMessage(m: unknown): void;
  onmessage: ((e: MessageEvent<{ code: string }>) => void) | null;
};

function show(v: unknown): string {
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

scope.onmessage = async (e) => {
  const logs: string[] = [];
  for (const level of ["log", "info", "warn", "error"] as const) {
    console[level] = (...args: unknown[]) => {
      logs.push(args.map(show).join(" "));
    };
  }
  try {
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
      body: string,
    ) => () => Promise<unknown>;
    const value = await new AsyncFunction(e.data.code)();
    scope.postMessage({ ok: true, value: show(value), logs });
  } catch (err) {
    scope.postMessage({ ok: false, error: String(err), logs });
  }
};
