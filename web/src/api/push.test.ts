import { describe, expect, it } from "vitest";
import { EventOrder, followPushed, pushUrl, type PushEnd } from "./push";
import type { Job } from "./types";

const ev = (seq: number) => ({ seq, type: "text" as const, text: `t${seq}` });

function job(status: Job["status"], next: number, events: Job["events"] = []): Job {
  return { job_id: "j1", kind: "generate", status, events, next, attempt: 0 } as Job;
}

/** A WebSocket the test drives: what the client sent, and the server's side. */
class FakeSocket {
  static last: FakeSocket;
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeSocket.last = this;
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  push(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.();
  }
}

function follow(after = 0, idleMs = 1000, gapMs = 1000) {
  const seen: Job[] = [];
  const done: Promise<PushEnd> = followPushed({
    url: "ws://kiln.test/push",
    token: "kiln_token",
    jobId: "j1",
    after,
    onJob: (j) => seen.push(j),
    wanted: () => true,
    openTimeoutMs: 1000,
    tailMs: 10,
    idleMs,
    gapMs,
    socket: (url, protocols) => new FakeSocket(url, protocols) as unknown as WebSocket,
  });
  return { seen, done, socket: FakeSocket.last };
}

describe("EventOrder", () => {
  it("applies events in sequence order, each once, holding back early ones", () => {
    const order = new EventOrder(1);
    expect(order.add([ev(1), ev(3)])).toEqual([]);
    expect(order.add([ev(2), ev(3)])).toEqual([ev(2), ev(3)]);
    expect(order.add([ev(2), ev(4)])).toEqual([ev(4)]);
    expect(order.next).toBe(4);
  });
});

describe("pushUrl", () => {
  it("is the server's when it names one, else this origin's /push over ws or wss", () => {
    expect(pushUrl("wss://abc.execute-api.eu-west-1.amazonaws.com/live", "https://x.test/")).toBe("wss://abc.execute-api.eu-west-1.amazonaws.com/live");
    expect(pushUrl(null, "https://kiln.test/p/1")).toBe("wss://kiln.test/push");
    expect(pushUrl(undefined, "http://127.0.0.1:8000/")).toBe("ws://127.0.0.1:8000/push");
  });
});

describe("followPushed", () => {
  it("offers the token as a subprotocol and subscribes from after", () => {
    const { socket } = follow(7);
    socket.open();
    expect(socket.protocols).toEqual(["kiln", "kiln_token"]);
    expect(JSON.parse(socket.sent[0]!)).toEqual({ action: "subscribe", job_id: "j1", after: 7 });
  });

  it("delivers the catch-up and pushed batches once and in order, then finishes", async () => {
    const { socket, seen, done } = follow();
    socket.open();
    socket.push({ type: "events", job_id: "j1", events: [ev(3)] }); // pushed before the catch-up
    socket.push({ type: "events", job_id: "j1", events: [ev(1), ev(2)] });
    socket.push({ type: "job", job: job("running", 2) });
    socket.push({ type: "events", job_id: "j1", events: [ev(3), ev(4)] });
    socket.push({ type: "job", job: job("succeeded", 4) });
    const end = await done;
    expect(seen.flatMap((j) => j.events.map((e) => e.seq))).toEqual([1, 2, 3, 4]);
    expect(end.kind).toBe("finished");
    expect(end.kind === "finished" && end.job.next).toBe(4);
  });

  it("waits for batches still on their way after the job finished, then gives up to polling", async () => {
    const { socket, done } = follow();
    socket.open();
    socket.push({ type: "job", job: job("succeeded", 5, [ev(1)]) });
    expect((await done).kind).toBe("lost");
  });

  it("treats a socket that stays silent as lost, so the caller resubscribes", async () => {
    const { socket, done } = follow(0, 20);
    socket.open();
    socket.push({ type: "job", job: job("running", 0) });
    expect((await done).kind).toBe("lost");
  });

  it("ends as lost when a missing batch never comes, so the resubscribe reads it", async () => {
    const { socket, seen, done } = follow(0, 1000, 20);
    socket.open();
    socket.push({ type: "job", job: job("running", 1, [ev(1)]) });
    socket.push({ type: "events", job_id: "j1", events: [ev(3), ev(4)] }); // 2 never posted
    expect((await done).kind).toBe("lost");
    expect(seen.flatMap((j) => j.events.map((e) => e.seq))).toEqual([1]);
  });

  it("keeps following when the missing batch arrives in time", async () => {
    const { socket, seen, done } = follow(0, 1000, 50);
    socket.open();
    socket.push({ type: "job", job: job("running", 1, [ev(1)]) });
    socket.push({ type: "events", job_id: "j1", events: [ev(3)] });
    socket.push({ type: "events", job_id: "j1", events: [ev(2)] });
    await new Promise((r) => setTimeout(r, 80));
    socket.push({ type: "job", job: job("succeeded", 3) });
    expect((await done).kind).toBe("finished");
    expect(seen.flatMap((j) => j.events.map((e) => e.seq))).toEqual([1, 2, 3]);
  });

  it("ends as gone for another owner's job, lost when dropped, refused when never open", async () => {
    const a = follow();
    a.socket.open();
    a.socket.push({ type: "error", code: "not_found", message: "job not found", job_id: "j1" });
    expect((await a.done).kind).toBe("gone");
    const b = follow();
    b.socket.open();
    b.socket.drop();
    expect((await b.done).kind).toBe("lost");
    const c = follow();
    c.socket.drop();
    expect((await c.done).kind).toBe("refused");
  });
});
