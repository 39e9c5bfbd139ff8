/** The app's state in one signal: views read slices of it and redraw when a slice changes. */
import { signal, type Signal } from "@preact/signals";

export class Store<S extends object> {
  readonly state: Signal<S>;

  constructor(initial: S) {
    this.state = signal(initial);
  }

  /** The current state, without subscribing the caller. */
  get(): S {
    return this.state.peek();
  }

  set(patch: Partial<S>): void {
    this.state.value = { ...this.state.peek(), ...patch };
  }
}
