/**
 * Pushed job events (kiln.push): a WebSocket subscribed to one job from `after`. The server
 * first sends what the job has after `after` (as a poll would), then every batch the worker
 * flushes (posted by the worker itself) and the job once it finishes. Events are applied in
 * sequence order, once each, whatever order they come in; a gap that stays open (a worker
 * killed between writing a batch and posting it) ends the follow as "lost", and the
 * caller's resubscribe reads the missing events. The caller polls instead when this ends
 * as "lost" or "refused".
 */
import type { Job } from "./types";

type JobEvents = Job["events"];

export type PushMessage =
  | { type: "job"; job: Job }
  | { type: "events"; job_id: string; events: JobEvents }
  | { type: "error"; code: string; message: string; job_id?: string };

/** How a pushed follow ended: the job finished (`job` is it), the job does not exist
 * (or is another owner's), the socket dropped after opening, or never opened. */
export type PushEnd =
  | { kind: "finished"; job: Job }
  | { kind: "gone" }
  | { kind: "lost" }
  | { kind: "refused" };

/** Events in sequence order, each once: duplicates dropped, early ones held back. */
export class EventOrder {
  private readonly pending = new Map<number, JobEvents[number]>();

  constructor(public next: number) {}

  /** Whether events past a gap are held back, waiting for the ones before them. */
  get waiting(): boolean {
    return this.pending.size > 0;
  }

  /** The events that follow on from `next` now, in order. */
  add(events: JobEvents): JobEvents {
    for (const event of events) if (event.seq > this.next) this.pending.set(event.seq, event);
    const ready: JobEvents = [];
    let event = this.pending.get(this.next + 1);
    while (event) {
      this.pending.delete(this.next + 1);
      ready.push(event);
      this.next += 1;
      event = this.pending.get(this.next + 1);
    }
    return ready;
  }
}

/** The push URL: the server's (health's `push_url`), else this origin's `/push`. */
export function pushUrl(configured: string | null | undefined, base: string): string {
  if (configured) return configured;
  const url = new URL("/push", base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

const FINAL = new Set(["succeeded", "failed", "cancelled"]);
const CONNECTING = 0;
const OPEN = 1;

export interface PushOptions {
  url: string;
  token: string;
  jobId: string;
  after: number;
  /** Called with the job and the events that follow on, in order (never a duplicate). */
  onJob: (job: Job) => void;
  /** Whether to keep following (false once the tab follows another job). */
  wanted: () => boolean;
  openTimeoutMs?: number;
  /** How long a finished job may wait for batches still on their way before polling. */
  tailMs?: number;
  /** A socket that says nothing this long is treated as lost (the caller resubscribes,
   * and the catch-up brings whatever a stalled push missed). */
  idleMs?: number;
  /** How long events may wait behind a missing one before the follow ends as lost. */
  gapMs?: number;
  socket?: (url: string, protocols: string[]) => WebSocket;
}

/** Follow one job over a WebSocket until it finishes or the socket fails. */
export function followPushed(options: PushOptions): Promise<PushEnd> {
  const { jobId, onJob, wanted } = options;
  const order = new EventOrder(options.after);
  const open = options.socket ?? ((url, protocols) => new WebSocket(url, protocols));
  return new Promise<PushEnd>((resolve) => {
    let ws: WebSocket;
    try {
      // The token rides as a subprotocol: a browser cannot set headers on a WebSocket,
      // and a query string ends up in access logs.
      ws = open(options.url, ["kiln", options.token]);
    } catch {
      resolve({ kind: "refused" });
      return;
    }
    let opened = false;
    let settled = false;
    let job: Job | null = null;
    let held: JobEvents = [];
    let tail: ReturnType<typeof setTimeout> | undefined;
    let idle: ReturnType<typeof setTimeout> | undefined;
    let gap: ReturnType<typeof setTimeout> | undefined;
    const quiet = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => end({ kind: "lost" }), options.idleMs ?? 20_000);
    };
    const end = (result: PushEnd): void => {
      if (settled) return;
      settled = true;
      clearTimeout(openTimer);
      clearTimeout(tail);
      clearTimeout(idle);
      clearTimeout(gap);
      ws.onclose = ws.onerror = ws.onmessage = null;
      if (ws.readyState === CONNECTING || ws.readyState === OPEN) ws.close();
      resolve(result);
    };
    const openTimer = setTimeout(() => end({ kind: "refused" }), options.openTimeoutMs ?? 5000);
    const deliver = (events: JobEvents): void => {
      if (!job) {
        held = held.concat(events);
        return;
      }
      const status = job.status === "queued" && events.length ? "running" : job.status;
      onJob({ ...job, status, events, next: order.next });
    };
    const settle = (): void => {
      if (!order.waiting) {
        clearTimeout(gap);
        gap = undefined;
      } else gap ??= setTimeout(() => end({ kind: "lost" }), options.gapMs ?? 3000);
      if (!job || !FINAL.has(job.status)) return;
      if (order.next >= job.next) end({ kind: "finished", job: { ...job, events: [], next: order.next } });
      else tail ??= setTimeout(() => end({ kind: "lost" }), options.tailMs ?? 2000);
    };
    ws.onopen = () => {
      opened = true;
      clearTimeout(openTimer);
      quiet();
      ws.send(JSON.stringify({ action: "subscribe", job_id: jobId, after: options.after }));
    };
    ws.onmessage = (message: MessageEvent) => {
      if (!wanted()) return end({ kind: "lost" });
      quiet();
      let data: PushMessage;
      try {
        data = JSON.parse(String(message.data)) as PushMessage;
      } catch {
        return;
      }
      if (data.type === "error") {
        end(data.code === "not_found" ? { kind: "gone" } : { kind: "lost" });
      } else if (data.type === "events" && data.job_id === jobId) {
        deliver(order.add(data.events));
        settle();
      } else if (data.type === "job" && data.job.job_id === jobId) {
        const first = job === null;
        job = data.job;
        const ready = order.add(data.job.events);
        deliver(first ? held.concat(ready) : ready);
        held = [];
        settle();
      }
    };
    ws.onerror = ws.onclose = () => end(opened ? { kind: "lost" } : { kind: "refused" });
  });
}
