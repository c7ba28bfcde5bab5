/**
 * A stand-in for `stub` from `@std/testing/mock` (on JSR, out of our reach),
 * with the same call shape and the part of its API our tests use: replace a
 * method with a fake until `restore` (or `using`) puts the original back.
 */

/** A method replaced by a fake, as `@std/testing/mock`'s `Stub` is. */
export interface Stub<Self, Args extends unknown[], Return> extends Disposable {
  /** The method that was replaced. */
  original: (this: Self, ...args: Args) => Return;
  /** The fake that now answers calls. */
  fake: (this: Self, ...args: Args) => Return;
  /** Whether the original is back. */
  restored: boolean;
  /** Puts the original back. */
  restore(): void;
}

type Method<Self, Prop extends keyof Self> = Self[Prop] extends
  (...args: infer Args) => infer Return ? [Args, Return] : never;

/**
 * Replaces `self[property]`, a method, with `fake` until the stub is
 * restored.
 *
 * @example
 * ```ts
 * import { stub } from "./_stub.ts";
 * import assert from "node:assert/strict";
 *
 * {
 *   using _now = stub(performance, "now", () => 42);
 *   assert.equal(performance.now(), 42);
 * }
 * assert.notEqual(performance.now(), 42);
 * ```
 */
export function stub<
  Self,
  Prop extends keyof Self,
  Args extends unknown[] = Method<Self, Prop>[0],
  Return = Method<Self, Prop>[1],
>(
  self: Self,
  property: Prop,
  fake: (this: Self, ...args: Args) => Return,
): Stub<Self, Args, Return> {
  const original = self[property] as (this: Self, ...args: Args) => Return;
  if (typeof original !== "function") {
    throw new TypeError(`Cannot stub ${String(property)}: not a method`);
  }
  const owned = Object.hasOwn(self as object, property);
  Object.defineProperty(self, property, {
    configurable: true,
    writable: true,
    value: fake,
  });
  const replaced: Stub<Self, Args, Return> = {
    original,
    fake,
    restored: false,
    restore() {
      if (replaced.restored) {
        throw new Error("Cannot restore: stub already restored");
      }
      replaced.restored = true;
      if (owned) self[property] = original as Self[Prop];
      else delete self[property];
    },
    [Symbol.dispose]() {
      replaced.restore();
    },
  };
  return replaced;
}
