/** Handles that resize the chat and preview columns, by drag or arrow keys; sizes survive reloads. */
import { useEffect, useRef, useState } from "preact/hooks";

const KEY = "kiln.layout";
const STEP_PX = 24;

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

/** Put the saved column widths on the workspace grid. */
export function applySizes(workspace: HTMLElement, sizes: Sizes = load()): void {
  if (sizes.chat) workspace.style.setProperty("--chat-w", `${sizes.chat}px`);
  if (sizes.preview) workspace.style.setProperty("--preview-w", `${sizes.preview}px`);
}

interface Props {
  which: keyof Sizes;
  /** Which side of its panel the handle sits on; dragging moves that edge. */
  edge: "left" | "right";
  min: number;
  /** Width left for the other columns. */
  keep: number;
}

export function Splitter({ which, edge, min, keep }: Props) {
  const handle = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState<number | null>(null);
  useEffect(() => {
    const panel = handle.current?.parentElement;
    if (panel) setWidth(Math.round(panel.getBoundingClientRect().width));
  }, []);
  const resize = (to: number): void => {
    const workspace = handle.current?.closest<HTMLElement>(".workspace");
    if (!workspace) return;
    const next = Math.round(Math.min(window.innerWidth - keep, Math.max(min, to)));
    const sizes = { ...load(), [which]: next };
    applySizes(workspace, sizes);
    localStorage.setItem(KEY, JSON.stringify(sizes));
    setWidth(next);
  };
  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    e.preventDefault();
    const current = handle.current?.parentElement?.getBoundingClientRect().width ?? width ?? min;
    // The handle moves the way the arrow points: right widens the chat, narrows the preview.
    const towards = e.key === "ArrowRight" ? 1 : -1;
    resize(current + towards * (edge === "right" ? 1 : -1) * STEP_PX);
  };
  const onPointerDown = (down: PointerEvent): void => {
    const el = down.currentTarget as HTMLElement;
    const panel = el.parentElement;
    if (!panel) return;
    down.preventDefault();
    el.setPointerCapture(down.pointerId);
    const start = panel.getBoundingClientRect().width;
    document.body.classList.add("resizing");
    const move = (e: PointerEvent): void => {
      const dx = e.clientX - down.clientX;
      resize(edge === "right" ? start + dx : start - dx);
    };
    const up = (): void => {
      document.body.classList.remove("resizing");
      el.removeEventListener("pointermove", move);
      el.removeEventListener("pointerup", up);
    };
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", up);
  };
  const onDblClick = (e: MouseEvent): void => {
    const sizes = { ...load() };
    delete sizes[which];
    localStorage.setItem(KEY, JSON.stringify(sizes));
    (e.currentTarget as HTMLElement).closest<HTMLElement>(".workspace")?.style.removeProperty(which === "chat" ? "--chat-w" : "--preview-w");
  };
  return (
    <div
      ref={handle}
      class={`splitter ${edge}`}
      role="separator"
      tabIndex={0}
      aria-orientation="vertical"
      aria-label={`Resize the ${which} panel`}
      aria-valuenow={width ?? undefined}
      aria-valuemin={min}
      aria-valuemax={Math.max(min, window.innerWidth - keep)}
      title="Drag or use the arrow keys to resize"
      onPointerDown={onPointerDown}
      onDblClick={onDblClick}
      onKeyDown={onKeyDown}
    />
  );
}
