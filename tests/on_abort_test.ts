import assert from "node:assert/strict";
import { offAbort, onAbort } from "../src/waiting/on_abort.ts";

Deno.test("onAbort() runs a callback at once for a signal that has already aborted, and once only", () => {
  const calls: string[] = [];
  const signal = AbortSignal.abort();
  onAbort(signal, () => calls.push("at once"));
  assert.deepEqual(calls, ["at once"]);
});

Deno.test("onAbort() runs the callbacks in the order added, one listener for them all", () => {
  const controller = new AbortController();
  const calls: number[] = [];
  let listeners = 0;
  const add = controller.signal.addEventListener.bind(controller.signal);
  controller.signal.addEventListener = (...args: Parameters<typeof add>) => {
    listeners++;
    add(...args);
  };
  for (let i = 0; i < 3; i++) onAbort(controller.signal, () => calls.push(i));
  assert.equal(listeners, 1);
  controller.abort();
  assert.deepEqual(calls, [0, 1, 2]);
});

Deno.test("offAbort() during the abort keeps a later callback from running", () => {
  const controller = new AbortController();
  const calls: string[] = [];
  const later = () => calls.push("later");
  onAbort(controller.signal, () => {
    calls.push("first");
    offAbort(controller.signal, later);
  });
  onAbort(controller.signal, later);
  controller.abort();
  assert.deepEqual(calls, ["first"]);
});

Deno.test("onAbort() during the abort runs the new callback at once", () => {
  const controller = new AbortController();
  const calls: string[] = [];
  onAbort(controller.signal, () => {
    onAbort(controller.signal, () => calls.push("added"));
    calls.push("first");
  });
  controller.abort();
  assert.deepEqual(calls, ["added", "first"]);
});
