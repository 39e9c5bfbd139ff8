/** What the worker's DOM mirror sends to the preview page, and the nodes the page knows by id. */

export type DomOp =
  | { op: "create"; id: number; tag: string }
  | { op: "text"; id: number; text: string }
  | { op: "html"; id: number; html: string }
  | { op: "prop"; id: number; name: string; value: unknown }
  | { op: "attr"; id: number; name: string; value: string | null }
  | { op: "style"; id: number; name: string; value: string }
  | { op: "append"; parent: number; child: number; before?: number }
  | { op: "remove"; id: number }
  | { op: "listen"; id: number; event: string }
  | { op: "title"; text: string };

export const BODY_ID = 0;
export const HEAD_ID = -1;
export const ROOT_ID = -2;
