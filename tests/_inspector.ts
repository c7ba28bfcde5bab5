import type { ServiceProcess } from "./_service_process.ts";

/** How a process run with {@linkcode INSPECT_FLAGS} is looked into. */
export const INSPECT_FLAGS: readonly string[] = ["--inspect-wait=127.0.0.1:0"];

/**
 * A V8 inspector session with a process run with {@linkcode INSPECT_FLAGS}:
 * what the running process really compiled (every module it loaded, however
 * it imported it) and what an expression evaluates to inside it. The process
 * waits for the session before it runs any of its code, so nothing it loads
 * is missed.
 *
 * @example
 * ```ts ignore
 * import { inspect, INSPECT_FLAGS } from "./_inspector.ts";
 * import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
 *
 * await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
 *   runFlags: INSPECT_FLAGS,
 * });
 * await using inspector = await inspect(service);
 * await service.ports();
 * console.log(await inspector.scriptsSoFar(), await inspector.evaluate("1 + 1"));
 * ```
 */
export class Inspector implements AsyncDisposable {
  readonly #socket: WebSocket;
  readonly #closed: Promise<void>;
  #nextId = 0;
  readonly #replies = new Map<number, PromiseWithResolvers<unknown>>();
  readonly #scripts: string[] = [];
  readonly #finished = Promise.withResolvers<void>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => {
      socket.addEventListener("close", () => resolve(), { once: true });
    });
    // A process that collects coverage (as under `deno task test`) does not
    // wait for the session at its end: the socket closes instead.
    this.#closed.then(() => this.#finished.resolve());
    socket.addEventListener("message", (event) => this.#receive(event.data));
  }

  /** Connects to the inspector at `url` and lets the process run. */
  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve, { once: true });
      socket.addEventListener("error", reject, { once: true });
    });
    const inspector = new Inspector(socket);
    await inspector.#send("Runtime.enable");
    await inspector.#send("Debugger.enable");
    await inspector.#send("Runtime.runIfWaitingForDebugger");
    return inspector;
  }

  /**
   * The URL of every script compiled before this call, in order: `file:`
   * and npm modules, `node:` modules, Deno's own `ext:` scripts.
   */
  async scriptsSoFar(): Promise<string[]> {
    // Events come before the reply to a command sent after them.
    await this.#send("Runtime.evaluate", { expression: "0" });
    return [...this.#scripts];
  }

  /**
   * Every script compiled in the process's life, once its JavaScript has
   * finished (the process then waits for this session to close, unless it
   * collects coverage) or the session has ended.
   */
  async allScripts(): Promise<string[]> {
    await this.#finished.promise;
    return [...this.#scripts];
  }

  /** What `expression` evaluates to inside the process, awaited. */
  async evaluate(expression: string): Promise<unknown> {
    const reply = await this.#send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    }) as { result: { value?: unknown }; exceptionDetails?: unknown };
    if (reply.exceptionDetails !== undefined) {
      throw new Error(
        `${expression}: ${JSON.stringify(reply.exceptionDetails)}`,
      );
    }
    return reply.result.value;
  }

  #send(method: string, params: object = {}): Promise<unknown> {
    const id = ++this.#nextId;
    const reply = Promise.withResolvers<unknown>();
    this.#replies.set(id, reply);
    this.#socket.send(JSON.stringify({ id, method, params }));
    return reply.promise;
  }

  #receive(data: string): void {
    const message = JSON.parse(data);
    if (message.method === "Debugger.scriptParsed") {
      this.#scripts.push(message.params.url);
    } else if (message.method === "Runtime.executionContextDestroyed") {
      this.#finished.resolve();
    } else if (message.id !== undefined) {
      const reply = this.#replies.get(message.id)!;
      this.#replies.delete(message.id);
      if (message.error) reply.reject(new Error(message.error.message));
      else reply.resolve(message.result);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#socket.close();
    await this.#closed;
  }
}

/**
 * The inspector of `service`, run with {@linkcode INSPECT_FLAGS}, once it
 * says where it listens: the process then runs.
 */
export async function inspect(service: ServiceProcess): Promise<Inspector> {
  const line = await service.stderr.waitFor("Debugger listening on ws://");
  return await Inspector.connect(line.match(/ws:\/\/\S+/)![0]);
}
