/**
 * Whether an instance wants new clients, as `GET /readyz` tells load
 * balancers: two reasons say no, and only one of them can be undone. Draining
 * begins with shutdown (SIGTERM) and lasts until the process exits. The manual
 * switch (`POST /readyz/fail`, then `POST /readyz/ok`) takes an instance out
 * of rotation and puts it back while it keeps serving, as Envoy's
 * `/healthcheck/fail` does: to look at one replica, or drain it by hand before
 * a restart. Switching on again never undoes draining.
 *
 * @module
 */
import { Gauge } from "../observability/plain_metrics.ts";
import { onAbort } from "../waiting/on_abort.ts";

/** Whether the instance wants new clients, as `GET /readyz` says. */
export interface ReadinessMetrics {
  /** 1 while `/readyz` answers 200, 0 while it answers 503. */
  ready: Gauge;
  /** 1 from `POST /readyz/fail` until `POST /readyz/ok`, 0 otherwise. */
  switchedOff: Gauge;
}

/**
 * Creates the readiness gauges, `echoserver_ready` and
 * `echoserver_ready_switched_off`, for a {@linkcode Readiness} to set.
 *
 * @example
 * ```ts
 * import { createReadinessMetrics, Readiness } from "./readiness.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = createReadinessMetrics();
 * new Readiness({ metrics }).switchOff();
 * assert.equal(metrics.ready.get().values[0].value, 0);
 * assert.equal(metrics.switchedOff.get().values[0].value, 1);
 * ```
 */
export function createReadinessMetrics(): ReadinessMetrics {
  return {
    ready: new Gauge({
      name: "echoserver_ready",
      help:
        "1 while GET /readyz answers 200; 0 while draining after SIGTERM or switched off by POST /readyz/fail.",
    }),
    switchedOff: new Gauge({
      name: "echoserver_ready_switched_off",
      help: "1 from POST /readyz/fail until POST /readyz/ok.",
    }),
  };
}

/** What {@linkcode Readiness} watches and where it shows its state. */
export interface ReadinessOptions {
  /** Aborts when shutdown begins: from then on the instance is not ready. */
  draining?: AbortSignal;
  /** Gauges that follow the state, for `/metrics`. */
  metrics?: ReadinessMetrics;
}

/**
 * The instance's readiness: ready unless draining or switched off.
 *
 * @example
 * ```ts
 * import { Readiness } from "./readiness.ts";
 * import assert from "node:assert/strict";
 *
 * const draining = new AbortController();
 * const readiness = new Readiness({ draining: draining.signal });
 * readiness.switchOff();
 * assert.equal(readiness.ready, false);
 * readiness.switchOn();
 * assert.equal(readiness.ready, true);
 * draining.abort();
 * readiness.switchOn();
 * assert.equal(readiness.ready, false);
 * ```
 */
export class Readiness {
  #switchedOff = false;
  readonly #draining?: AbortSignal;
  readonly #metrics?: ReadinessMetrics;

  /**
   * A readiness that is ready, unless `options.draining` has aborted, and
   * shows so in `options.metrics` from now on.
   *
   * @param options the draining signal, and the gauges to set
   */
  constructor(options: ReadinessOptions = {}) {
    this.#draining = options.draining;
    this.#metrics = options.metrics;
    this.#show();
    if (this.#draining) onAbort(this.#draining, () => this.#show());
  }

  /** Whether `GET /readyz` answers 200. */
  get ready(): boolean {
    return !this.draining && !this.#switchedOff;
  }

  /** Whether shutdown has begun; nothing undoes it. */
  get draining(): boolean {
    return this.#draining?.aborted ?? false;
  }

  /** Whether `POST /readyz/fail` has switched it off, and no `/readyz/ok` since. */
  get switchedOff(): boolean {
    return this.#switchedOff;
  }

  /** Takes the instance out of rotation: `POST /readyz/fail`. */
  switchOff(): void {
    this.#switchedOff = true;
    this.#show();
  }

  /** Puts it back, unless it is draining: `POST /readyz/ok`. */
  switchOn(): void {
    this.#switchedOff = false;
    this.#show();
  }

  #show(): void {
    this.#metrics?.ready.set(this.ready ? 1 : 0);
    this.#metrics?.switchedOff.set(this.#switchedOff ? 1 : 0);
  }
}
