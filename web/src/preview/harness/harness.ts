/**
 * A test page for the preview engines alone (tests/e2e/test_preview*.py drive it), so the
 * engines are proven without the app shell. Query: ?webcontainer=1 tries WebContainers first.
 */
import { createPreview, runSnippet, type Framework, type PreviewStatus, type Problem } from "../index";
import { createPythonEngine } from "../python";

const params = new URLSearchParams(location.search);
const terminalEl = document.getElementById("terminal") as HTMLElement;
const host = createPreview({
  webcontainer: params.get("webcontainer") === "1",
  ...(params.get("probe") ? { probeUrl: params.get("probe") as string } : {}),
  ...(params.get("pypackages") ? { pythonPackagesUrl: params.get("pypackages") as string } : {}),
});
/** The original runner's interface, on its own engine: `pyExec(code)` -> {result, stdout, error}. */
const pyRunner = createPythonEngine(
  `${location.origin}/pyodide/`,
  { write: () => undefined, dom: () => undefined, problem: (p) => problems.push(p), status: () => undefined },
  params.get("pypackages") ?? undefined,
);
const problems: Problem[] = [];
const statuses: (PreviewStatus & { t: number })[] = [];
let terminal = "";
host.mount(document.getElementById("preview") as HTMLElement, {
  write(text) {
    terminal += text;
    terminalEl.textContent = terminal;
  },
});
host.onProblem((p) => problems.push(p));
host.onStatus((s) => statuses.push({ ...s, t: performance.now() }));

const api = {
  host,
  problems,
  statuses,
  terminal: () => terminal,
  load: (framework: Framework, files: Record<string, string>) => host.load(framework, files),
  runSnippet,
  pyExec: (code: string) => pyRunner.exec(code),
};
(window as unknown as { kilnPreview: typeof api }).kilnPreview = api;
document.body.dataset.harness = "ready";
