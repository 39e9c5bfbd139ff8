/**
 * The terminal tab: output is buffered from the start, xterm is only loaded when
 * the tab is first opened.
 */
import type { TerminalSink } from "./preview-host";

const LIMIT = 200_000;

export class BufferedTerminal implements TerminalSink {
  private buffer = "";
  private term: { write(text: string): void } | null = null;
  private loading: Promise<void> | null = null;
  private readonly listeners: (() => void)[] = [];

  write(text: string): void {
    if (this.term) {
      this.term.write(text.replace(/(?<!\r)\n/g, "\r\n"));
    } else {
      this.buffer = (this.buffer + text).slice(-LIMIT);
    }
    for (const cb of this.listeners) cb();
  }

  /** Call `cb` on every write; returns how to stop. */
  onWrite(cb: () => void): () => void {
    this.listeners.push(cb);
    return () => {
      const at = this.listeners.indexOf(cb);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /** Mount xterm into `el` (once), replaying what was written so far. */
  open(el: HTMLElement): Promise<void> {
    this.loading ??= (async () => {
      const [{ Terminal }, { FitAddon }] = await Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit")]);
      await import("@xterm/xterm/css/xterm.css");
      const term = new Terminal({
        convertEol: true,
        fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
        fontSize: 12,
        disableStdin: true,
        cursorBlink: false,
        theme: { background: "#0a0a0a", foreground: "#e4e4e7" },
        scrollback: 5000,
      });
      const fit = new FitAddon();
      term.loadAddon(fit);
      term.open(el);
      fit.fit();
      new ResizeObserver(() => {
        if (el.offsetParent !== null) fit.fit();
      }).observe(el);
      const intro = this.buffer ? "" : "\x1b[90mInstall, dev-server and Python output appears here.\x1b[0m\r\n";
      term.write(intro + this.buffer.replace(/(?<!\r)\n/g, "\r\n"));
      this.buffer = "";
      this.term = term;
    })();
    return this.loading;
  }
}
