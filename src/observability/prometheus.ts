/**
 * The parts of `prom-client` the service uses, loaded from their own modules:
 * the package's index also loads its Pushgateway (and with it `node:http`)
 * and its cluster aggregator, which take longer to load than the rest of the
 * service takes to start. The types are the package's own.
 *
 * @module
 */
import type * as PromClient from "prom-client";
import counter from "prom-client/lib/counter.js";
import gauge from "prom-client/lib/gauge.js";
import registry from "prom-client/lib/registry.js";

/** prom-client's `Counter`: a value that only goes up. */
export const Counter = counter as typeof PromClient.Counter;
/** prom-client's `Counter` type. */
export type Counter<T extends string = string> = PromClient.Counter<T>;
/** prom-client's `Gauge`: a value that goes up and down. */
export const Gauge = gauge as typeof PromClient.Gauge;
/** prom-client's `Gauge` type. */
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
/** prom-client's `Registry`: a set of metrics, written out in one text. */
export const Registry = registry as typeof PromClient.Registry;
/** prom-client's `Registry` type. */
export type Registry = PromClient.Registry;
