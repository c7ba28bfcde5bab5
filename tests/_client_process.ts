/**
 * A client program, such as `nc`, `socat` or `openssl s_client`, run as its
 * own process: the test writes its standard input and reads its standard
 * output, and disposing of it kills it.
 *
 * @example
 * ```ts
 * import { ClientProcess } from "./_client_process.ts";
 * import assert from "node:assert/strict";
 *
 * await using cat = new ClientProcess("cat", []);
 * await cat.write("hey there");
 * assert.equal(new TextDecoder().decode(await cat.read(9)), "hey there");
 * ```
 */
export class ClientProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #input: WritableStreamDefaultWriter<Uint8Array>;
  readonly #output: ReadableStreamDefaultReader<Uint8Array>;
  /** Output read from the process but not yet asked for. */
  #pending = new Uint8Array();

  constructor(command: string, args: readonly string[]) {
    this.#child = new Deno.Command(command, {
      args: [...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#input = this.#child.stdin.getWriter();
    this.#output = this.#child.stdout.getReader();
  }

  /** Writes `data` (UTF-8 for a string) to its standard input. */
  async write(data: string | Uint8Array): Promise<void> {
    await this.#input.write(
      typeof data === "string" ? new TextEncoder().encode(data) : data,
    );
  }

  /** Closes its standard input. */
  async closeInput(): Promise<void> {
    await this.#input.close();
  }

  /**
   * Exactly `size` bytes of its output; fewer only if the output ends first.
   */
  async read(size: number): Promise<Uint8Array> {
    while (this.#pending.length < size) {
      const { value, done } = await this.#output.read();
      if (done) break;
      const joined = new Uint8Array(this.#pending.length + value.length);
      joined.set(this.#pending);
      joined.set(value, this.#pending.length);
      this.#pending = joined;
    }
    const taken = this.#pending.slice(0, size);
    this.#pending = this.#pending.slice(taken.length);
    return taken;
  }

  /** Its exit status, once it has exited. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.#child.status;
    await this.#output.cancel();
    await this.#input.close().catch(() => {});
  }
}
