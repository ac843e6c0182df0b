// A base class that makes start()/shutdown() idempotent and ordered, so each
// component only writes what its own start and shutdown do.

import type { Component } from './component.ts';

export abstract class LifecycleComponent implements Component {
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  protected abstract doStart(): Promise<void>;
  protected abstract doShutdown(): Promise<void>;

  start(): Promise<void> {
    this.#started ??= this.doStart();
    return this.#started;
  }

  shutdown(): Promise<void> {
    // Shutting down a component that never started (a failed start elsewhere) is a no-op.
    this.#stopped ??= this.#started
      ? this.#started.catch(() => undefined).then(() => this.doShutdown())
      : Promise.resolve();
    return this.#stopped;
  }

  protected get running(): boolean {
    return this.#started !== undefined && this.#stopped === undefined;
  }
}
