import { afterEach, describe, expect, it, vi } from "vitest";
import type { ApiClient } from "../api/client";
import type { Deployment, Job } from "../api/types";
import { initialState } from "../state/app";
import { Store } from "../state/store";
import { createContext } from "./context";
import { deploy } from "./deploy";

type Server = (socket: ScriptedSocket, after: number) => void;

/** A WebSocket whose server side is a script, one per connection, run on subscribe. */
class ScriptedSocket {
  static scripts: Server[] = [];
  static opened = 0;
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private readonly script: Server | undefined;
  constructor() {
    ScriptedSocket.opened += 1;
    this.script = ScriptedSocket.scripts.shift();
    setTimeout(() => {
      if (!this.script) return this.onerror?.();
      this.readyState = 1;
      this.onopen?.();
    });
  }
  send(data: string): void {
    const { after } = JSON.parse(data) as { after: number };
    setTimeout(() => this.script?.(this, after));
  }
  close(): void {
    this.readyState = 3;
  }
  push(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.();
  }
}

const status = (seq: number, message: string) => ({ seq, type: "status" as const, phase: "building", message });
const job = (state: Job["status"], next: number, events: Job["events"] = []): Job =>
  ({ job_id: "j1", kind: "deploy", status: state, events, next, attempt: 0 }) as Job;
const deployment = (state: string): Deployment => ({ deployment_id: "d1", state }) as Deployment;

function setUp(states: string[]) {
  const reads: string[] = [];
  const api = {
    deploy: () => Promise.resolve({ deployment_id: "d1", job_id: "j1" }),
    deployment: () => {
      const state = states.length > 1 ? states.shift()! : states[0]!;
      reads.push(state);
      return Promise.resolve(deployment(state));
    },
    pushTarget: () => Promise.resolve({ url: "ws://kiln.test/push", token: "kiln_token" }),
  } as unknown as ApiClient;
  const store = new Store(initialState());
  store.set({ project: { project_id: "p1" } as never, version: 1 });
  const seen: { states: string[]; progress: string[] } = { states: [], progress: [] };
  const run = () =>
    deploy(
      createContext(store, api),
      "s3",
      "",
      (d) => seen.states.push(d.state),
      () => true,
      (m) => seen.progress.push(m),
    );
  return { reads, seen, run };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
  ScriptedSocket.scripts = [];
  ScriptedSocket.opened = 0;
});

describe("deploy", () => {
  it("shows the worker's words pushed over the socket and reads the deployment only as it starts and ends", async () => {
    vi.stubGlobal("WebSocket", ScriptedSocket);
    ScriptedSocket.scripts = [
      (s) => {
        s.push({ type: "job", job: job("running", 1, [status(1, "building the site")]) });
        s.push({ type: "events", job_id: "j1", events: [status(2, "uploading 3/3 files")] });
        s.push({ type: "job", job: job("succeeded", 2) });
      },
    ];
    const { reads, seen, run } = setUp(["building", "ready"]);
    await run();
    expect(seen.progress).toEqual(["building the site", "uploading 3/3 files"]);
    expect(seen.states).toEqual(["building", "ready"]);
    expect(reads).toHaveLength(2);
  });

  it("polls the deployment when the socket cannot be opened", async () => {
    vi.stubGlobal("WebSocket", ScriptedSocket);
    vi.useFakeTimers({ shouldAdvanceTime: true, advanceTimeDelta: 50 });
    const { reads, seen, run } = setUp(["queued", "building", "building", "ready"]);
    const done = run();
    await vi.runAllTimersAsync();
    await done;
    expect(seen.states).toEqual(["queued", "building", "building", "ready"]);
    expect(reads).toHaveLength(4);
    expect(ScriptedSocket.opened).toBe(1);
  });

  it("resumes after each drop that brought news, and polls after three that brought none", async () => {
    vi.stubGlobal("WebSocket", ScriptedSocket);
    vi.useFakeTimers({ shouldAdvanceTime: true, advanceTimeDelta: 50 });
    const newsThenDrop = (seq: number): Server => (s, after) => {
      expect(after).toBe(seq - 1);
      s.push({ type: "job", job: job("running", seq, [status(seq, `step ${seq}`)]) });
      s.drop();
    };
    const silentDrop: Server = (s) => s.drop();
    ScriptedSocket.scripts = [1, 2, 3, 4].map(newsThenDrop).concat([silentDrop, silentDrop, silentDrop]);
    const { seen, run } = setUp(["building", "building", "ready"]);
    const done = run();
    await vi.runAllTimersAsync();
    await done;
    expect(seen.progress).toEqual(["step 1", "step 2", "step 3", "step 4"]);
    expect(ScriptedSocket.opened).toBe(7);
    expect(seen.states).toEqual(["building", "building", "ready"]);
  });
});
