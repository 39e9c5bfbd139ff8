import { describe, expect, it } from "vitest";
import { ApiError, type ApiClient } from "../api/client";
import { initialState } from "../state/app";
import { startStream } from "../state/stream";
import { Store } from "../state/store";
import { createContext } from "./context";
import { cancel } from "./generate";

function withRunningJob(cancelJob: () => Promise<void>) {
  const store = new Store(initialState());
  const api = { cancelJob } as unknown as ApiClient;
  const ctx = createContext(store, api);
  store.set({
    job: { jobId: "j1", projectId: "p1", turnKey: "t1", status: "running", stream: startStream({}), next: 0, livePreview: false },
  });
  return ctx;
}

describe("cancel", () => {
  it("says nothing when the job finished before the stop reached it", async () => {
    const ctx = withRunningJob(() => Promise.reject(new ApiError(409, "job_not_cancellable", "job already succeeded")));
    await cancel(ctx);
    expect(ctx.store.get().toast).toBeNull();
  });

  it("reports any other failure to stop", async () => {
    const ctx = withRunningJob(() => Promise.reject(new ApiError(503, "unavailable", "try later")));
    await cancel(ctx);
    expect(ctx.store.get().toast).toEqual({ kind: "error", text: "try later" });
  });
});
