import { describe, expect, it } from "vitest";
import { createQueue } from "./queue";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("serial queue", () => {
  it("runs tasks one at a time in submission order", async () => {
    const q = createQueue();
    const log: string[] = [];
    const gate = deferred();
    const first = q.run(async () => {
      log.push("a:start");
      await gate.promise;
      log.push("a:end");
    });
    const second = q.run(() => {
      log.push("b");
    });
    await Promise.resolve();
    expect(log).toEqual(["a:start"]);
    gate.resolve();
    await Promise.all([first, second]);
    expect(log).toEqual(["a:start", "a:end", "b"]);
  });

  it("returns each task's own result", async () => {
    const q = createQueue();
    await expect(q.run(async () => 42)).resolves.toBe(42);
  });

  it("keeps going after a task fails, rejecting only that task", async () => {
    const q = createQueue();
    const failed = q.run(async () => {
      throw new Error("boom");
    });
    const next = q.run(async () => "still runs");
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe("still runs");
  });

  it("idle resolves after every queued task has settled", async () => {
    const q = createQueue();
    const gate = deferred();
    let done = false;
    void q.run(async () => {
      await gate.promise;
      done = true;
    });
    expect(q.pending).toBe(1);
    const idle = q.idle();
    gate.resolve();
    await idle;
    expect(done).toBe(true);
    expect(q.pending).toBe(0);
  });
});
