/** Drag handles that resize the chat and preview columns; sizes survive reloads. */
import { h } from "./dom";

const KEY = "kiln.layout";

interface Sizes {
  chat?: number;
  preview?: number;
}

function load(): Sizes {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? "{}") as Sizes;
  } catch {
    return {};
  }
}

function apply(root: HTMLElement, sizes: Sizes): void {
  if (sizes.chat) root.style.setProperty("--chat-w", `${sizes.chat}px`);
  if (sizes.preview) root.style.setProperty("--preview-w", `${sizes.preview}px`);
}

/** `edge`: which side of `panel` the handle sits on; dragging moves that edge. */
export function addSplitter(
  workspace: HTMLElement,
  panel: HTMLElement,
  which: keyof Sizes,
  edge: "left" | "right",
  bounds: { min: number; keep: number },
): void {
  const handle = h("div", { class: `splitter ${edge}`, role: "separator", "aria-orientation": "vertical", title: "Drag to resize" });
  panel.append(handle);
  apply(workspace, load());
  handle.addEventListener("pointerdown", (down) => {
    down.preventDefault();
    handle.setPointerCapture(down.pointerId);
    const start = panel.getBoundingClientRect().width;
    document.body.classList.add("resizing");
    const move = (e: PointerEvent): void => {
      const dx = e.clientX - down.clientX;
      const max = window.innerWidth - bounds.keep;
      const width = Math.round(Math.min(max, Math.max(bounds.min, edge === "right" ? start + dx : start - dx)));
      const sizes = { ...load(), [which]: width };
      apply(workspace, sizes);
      localStorage.setItem(KEY, JSON.stringify(sizes));
    };
    const up = (): void => {
      document.body.classList.remove("resizing");
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
  });
  handle.addEventListener("dblclick", () => {
    const sizes = { ...load() };
    delete sizes[which];
    localStorage.setItem(KEY, JSON.stringify(sizes));
    workspace.style.removeProperty(which === "chat" ? "--chat-w" : "--preview-w");
  });
}
