/** Drag handles that resize the chat and preview columns; sizes survive reloads. */

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
  const onPointerDown = (down: PointerEvent): void => {
    const handle = down.currentTarget as HTMLElement;
    const panel = handle.parentElement;
    const workspace = handle.closest<HTMLElement>(".workspace");
    if (!panel || !workspace) return;
    down.preventDefault();
    handle.setPointerCapture(down.pointerId);
    const start = panel.getBoundingClientRect().width;
    document.body.classList.add("resizing");
    const move = (e: PointerEvent): void => {
      const dx = e.clientX - down.clientX;
      const max = window.innerWidth - keep;
      const width = Math.round(Math.min(max, Math.max(min, edge === "right" ? start + dx : start - dx)));
      const sizes = { ...load(), [which]: width };
      applySizes(workspace, sizes);
      localStorage.setItem(KEY, JSON.stringify(sizes));
    };
    const up = (): void => {
      document.body.classList.remove("resizing");
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
  };
  const onDblClick = (e: MouseEvent): void => {
    const sizes = { ...load() };
    delete sizes[which];
    localStorage.setItem(KEY, JSON.stringify(sizes));
    (e.currentTarget as HTMLElement).closest<HTMLElement>(".workspace")?.style.removeProperty(which === "chat" ? "--chat-w" : "--preview-w");
  };
  return (
    <div
      class={`splitter ${edge}`}
      role="separator"
      aria-orientation="vertical"
      title="Drag to resize"
      onPointerDown={onPointerDown}
      onDblClick={onDblClick}
    />
  );
}
