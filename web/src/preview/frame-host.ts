/**
 * The preview's iframe on kiln's page: creates it, loads documents through the runner page
 * (/vendor/frame.html), and routes the frame's messages. Messages for a frame that is still
 * starting are held until it says it is ready.
 */
import { isFrameMessage } from "./frame";
import type { Problem } from "./problems";

/** Sandbox of the fallback and Python frames: never our origin. */
// Forms and dialogs work as in a normal page; no allow-same-origin, so the app never shares
// kiln's origin, storage or token.
export const SANDBOX = "allow-scripts allow-forms allow-modals";
/** The WebContainer preview lives on StackBlitz's own origin, so same-origin there is its own. */
export const WC_SANDBOX = "allow-scripts allow-same-origin allow-forms allow-popups allow-modals";
const RUNNER_TIMEOUT_MS = 5000;

/** What the frame reports to the preview. */
export interface FrameEvents {
  problem(p: Problem): void;
  console(level: string, text: string): void;
  ready(): void;
  domEvent(id: number, event: string, value?: string, checked?: boolean): void;
}

export interface FrameHost {
  attach(container: HTMLElement): void;
  /** A fresh iframe with this sandbox, replacing the current one. */
  make(sandbox: string): HTMLIFrameElement;
  show(html: string): Promise<void>;
  post(message: unknown): void;
  /** Holds posted messages until the next frame says it is ready. */
  holdUntilReady(): void;
  setWidth(px: number | null): void;
  dispose(): void;
}

export function createFrameHost(frameUrl: string, events: FrameEvents): FrameHost {
  let container: HTMLElement | null = null;
  let iframe: HTMLIFrameElement | null = null;
  let width: number | null = null;
  let pendingHtml: { html: string; done: () => void } | null = null;
  let held: unknown[] | null = null;

  function make(sandbox: string): HTMLIFrameElement {
    iframe?.remove();
    const f = document.createElement("iframe");
    f.dataset.testid = "preview-frame";
    f.setAttribute("sandbox", sandbox);
    f.setAttribute("title", "App preview");
    f.style.cssText = `border:0;height:100%;display:block;margin:0 auto;background:#fff;width:${width === null ? "100%" : `${width}px`};max-width:100%`;
    container?.appendChild(f);
    iframe = f;
    return f;
  }

  /**
   * Loads a document through the runner page: fresh navigation, fresh JS realm. Resolves
   * once the document is handed over, or after RUNNER_TIMEOUT_MS with a problem that
   * names the likely cause, so a misconfigured server never hangs the queue.
   */
  function show(html: string): Promise<void> {
    const f = iframe && iframe.getAttribute("sandbox") === SANDBOX ? iframe : make(SANDBOX);
    return new Promise<void>((resolve) => {
      pendingHtml?.done();
      const timer = setTimeout(() => {
        if (pendingHtml?.html !== html) return;
        pendingHtml = null;
        events.problem({
          source: "runtime",
          message:
            `the preview frame (${frameUrl}) did not start within ${RUNNER_TIMEOUT_MS} ms: ` +
            "it must be served with a CSP that allows inline scripts and with CORS for /vendor/",
        });
        resolve();
      }, RUNNER_TIMEOUT_MS);
      pendingHtml = {
        html,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      f.src = frameUrl;
    });
  }

  function post(message: unknown): void {
    if (held) held.push(message);
    else iframe?.contentWindow?.postMessage(message, "*");
  }

  function onMessage(e: MessageEvent): void {
    if (!iframe || e.source !== iframe.contentWindow || !isFrameMessage(e.data)) return;
    const m = e.data as { type: string } & Record<string, unknown>;
    if (m.type === "runner" && pendingHtml) {
      const { html, done } = pendingHtml;
      pendingHtml = null;
      iframe.contentWindow?.postMessage({ kiln: "preview-load", html }, "*");
      done();
      return;
    }
    const msg = e.data;
    if (msg.type === "problem") events.problem(msg.problem);
    else if (msg.type === "console") events.console(msg.level, msg.text);
    else if (msg.type === "ready") {
      events.ready();
      if (held) {
        const queued = held;
        held = null;
        queued.forEach(post);
      }
    } else if (msg.type === "dom-event") events.domEvent(msg.id, msg.event, msg.value, msg.checked);
  }

  return {
    attach(el) {
      container = el;
      addEventListener("message", onMessage);
      make(SANDBOX);
    },
    make,
    show,
    post,
    holdUntilReady() {
      held = [];
    },
    setWidth(px) {
      width = px;
      if (iframe) iframe.style.width = px === null ? "100%" : `${px}px`;
    },
    dispose() {
      removeEventListener("message", onMessage);
      iframe?.remove();
      iframe = null;
    },
  };
}
