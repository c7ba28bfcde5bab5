import type { ServiceProcess } from "./_service_process.ts";

/**
 * Runs `body`, and if it takes more than `ms` kills `service` and fails: a
 * test whose service hangs fails the run instead of hanging it, and the
 * killed process releases whatever the test was waiting on.
 */
export async function withinTimeLimit<T>(
  service: ServiceProcess,
  ms: number,
  body: () => Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      service.kill("SIGKILL");
      reject(new Error(`test took over its time limit of ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([body(), timeUp]);
  } finally {
    clearTimeout(timer);
  }
}
