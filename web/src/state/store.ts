/** A tiny observable store: views subscribe to the slice they draw. */

export type Listener<S> = (state: S, previous: S) => void;

export class Store<S extends object> {
  private state: S;
  private readonly listeners = new Set<Listener<S>>();

  constructor(initial: S) {
    this.state = initial;
  }

  get(): S {
    return this.state;
  }

  set(patch: Partial<S>): void {
    const previous = this.state;
    this.state = { ...previous, ...patch };
    for (const listener of this.listeners) listener(this.state, previous);
  }

  /** Call `draw` now and whenever any of the selected fields changes identity. */
  watch<K extends keyof S>(keys: readonly K[], draw: (state: S) => void): () => void {
    const listener: Listener<S> = (state, previous) => {
      if (keys.some((k) => state[k] !== previous[k])) draw(state);
    };
    this.listeners.add(listener);
    draw(this.state);
    return () => this.listeners.delete(listener);
  }
}
