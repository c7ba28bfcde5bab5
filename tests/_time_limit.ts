// The real timers, taken before any test installs a fake clock.
const { setTimeout, clearTimeout } = globalThis;

/**
 * `test`, failing once `ms` of real time have passed, so that a broken
 * shutdown or a lost wake-up fails the run instead of hanging it.
 */
export function timeLimited(
  ms: number,
  test: (t: Deno.TestContext) => Promise<void>,
): (t: Deno.TestContext) => Promise<void> {
  return async (t) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`test not done within ${ms} ms`)),
        ms,
      );
    });
    try {
      await Promise.race([test(t), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}
