/**
 * One serial queue for every side effect on the running app (rebuild, fs.writeFile, npm
 * install...): tasks run one at a time in submission order, so a file written while an
 * install runs lands after it, never in the middle. A failed task rejects only its own
 * promise; the queue carries on with the next one.
 */
export interface SerialQueue {
  run<T>(task: () => Promise<T> | T): Promise<T>;
  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void>;
  readonly pending: number;
}

export function createQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  let pending = 0;
  return {
    run<T>(task: () => Promise<T> | T): Promise<T> {
      pending += 1;
      const result = tail.then(task).finally(() => {
        pending -= 1;
      });
      tail = result.catch(() => undefined);
      return result;
    },
    idle(): Promise<void> {
      return tail.then(() => undefined);
    },
    get pending(): number {
      return pending;
    },
  };
}
