/**
 * Engine 1: StackBlitz WebContainers (real npm install + Vite dev server in the browser).
 * Boots once per page behind a memoised promise. Measured: `WebContainer.boot()` never
 * settles when StackBlitz's runtime is unreachable (no error; a second boot hangs too), so
 * the boot races a reachability probe and our own deadline, and a failure is remembered:
 * boot is never called twice.
 */
import type { FileSystemTree, WebContainer } from "@webcontainer/api";

export const RUNTIME_URL = "https://stackblitz.com/headless";

let booting: Promise<WebContainer> | null = null;

function deadline(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => {
    setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
}

async function probe(url: string, ms: number): Promise<void> {
  try {
    await fetch(url, { mode: "no-cors", cache: "no-store", signal: AbortSignal.timeout(ms) });
  } catch (err) {
    throw new Error(`the WebContainer runtime (${new URL(url).host}) is unreachable: ${String(err)}`);
  }
}

export interface BootOptions {
  timeoutMs?: number;
  probeUrl?: string;
}

/** Boots the WebContainer at most once; rejects within `timeoutMs` (default 4 s) when it cannot. */
export function bootWebContainer(options: BootOptions = {}): Promise<WebContainer> {
  const timeoutMs = options.timeoutMs ?? 4000;
  booting ??= (async () => {
    if (!globalThis.crossOriginIsolated) {
      throw new Error("the page is not cross-origin isolated (COOP/COEP headers missing)");
    }
    const start = async (): Promise<WebContainer> => {
      await probe(options.probeUrl ?? RUNTIME_URL, timeoutMs);
      const { WebContainer } = await import("@webcontainer/api");
      return WebContainer.boot({ coep: "require-corp", workdirName: "project" });
    };
    return Promise.race([start(), deadline(timeoutMs, "WebContainer boot")]);
  })();
  return booting;
}

/** path -> content as the nested tree `mount()` takes. */
export function toTree(files: ReadonlyMap<string, string>): FileSystemTree {
  const root: FileSystemTree = {};
  for (const [path, contents] of files) {
    const parts = path.split("/");
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      const node = dir[part];
      if (node && "directory" in node) {
        dir = node.directory;
      } else {
        const created: FileSystemTree = {};
        dir[part] = { directory: created };
        dir = created;
      }
    }
    dir[parts[parts.length - 1] ?? path] = { file: { contents } };
  }
  return root;
}

export interface WebContainerCallbacks {
  write(text: string): void;
  status(phase: string, message?: string): void;
  serverReady(url: string): void;
}

async function run(wc: WebContainer, cmd: string, args: string[], out: WebContainerCallbacks): Promise<number> {
  const proc = await wc.spawn(cmd, args);
  void proc.output.pipeTo(new WritableStream({ write: (chunk) => out.write(chunk) }));
  return proc.exit;
}

/** Mounts the project, installs, starts the dev server; resolves once the server is up. */
export async function startProject(
  wc: WebContainer,
  files: ReadonlyMap<string, string>,
  out: WebContainerCallbacks,
): Promise<void> {
  await wc.mount(toTree(files));
  out.status("installing", "npm install");
  const code = await run(wc, "npm", ["install"], out);
  if (code !== 0) throw new Error(`npm install failed (exit ${code})`);
  out.status("starting", "npm run dev");
  const ready = new Promise<void>((resolve) => {
    wc.on("server-ready", (_port, url) => {
      out.serverReady(url);
      resolve();
    });
  });
  void run(wc, "npm", ["run", "dev"], out);
  await ready;
}

export async function writeProjectFile(wc: WebContainer, path: string, content: string): Promise<void> {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  if (dir) await wc.fs.mkdir(dir, { recursive: true });
  await wc.fs.writeFile(path, content);
}

type ReadFs = Pick<WebContainer["fs"], "readFile">;

/** A file as the running project has it now (a dev server or npm may have written it);
 * null when there is no such file. */
export async function readProjectFile(wc: { fs: ReadFs }, path: string): Promise<string | null> {
  try {
    return await wc.fs.readFile(path, "utf-8");
  } catch (err) {
    if (/ENOENT|no such file/i.test(String((err as Error).message ?? err))) return null;
    throw err;
  }
}

export async function deleteProjectFile(wc: WebContainer, path: string): Promise<void> {
  await wc.fs.rm(path, { force: true });
}
