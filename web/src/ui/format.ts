/** Times and token counts in the words the UI shows. */

export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function formatUsage(usage: {
  input_tokens: number;
  output_tokens: number;
  cost_usd?: number | null;
  cost_known?: boolean;
}): string {
  const n = (x: number): string => x.toLocaleString("en-US");
  const usd = usage.cost_usd;
  let cost = "";
  if (usd !== null && usd !== undefined) {
    const amount = `$${usd.toFixed(usd < 0.01 ? 4 : 2)}`;
    // a model missing from the price table is charged at the highest known price
    cost = usage.cost_known === false ? ` · ≤ ${amount} (model not in the price table)` : ` · ${amount}`;
  }
  return `${n(usage.input_tokens)} in · ${n(usage.output_tokens)} out${cost}`;
}

export function shortDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
