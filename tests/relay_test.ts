import assert from "node:assert/strict";
import { ReadBufferPool } from "../src/net/read_buffers.ts";
import { Relay, type RelayOptions } from "../src/net/relay.ts";
import { assertEchoes, bytes, connect, writeAll } from "./_echo_client.ts";
import { memoryStreamPair } from "./_memory_stream.ts";
import { readExactly } from "./_read.ts";
import { test } from "./_time_limit.ts";

/**
 * A client, a relay and the server end it reaches, all over loopback; the
 * relay's `onClientData` calls are counted. Everything closes when disposed.
 */
async function relayed() {
  using front = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using back = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await connect(front.addr);
  const calls = { clientData: 0 };
  const relay = new Relay(await front.accept(), await connect(back.addr), {
    onClientData: () => calls.clientData++,
  });
  const server = await back.accept();
  return {
    client,
    server,
    relay,
    calls,
    async [Symbol.asyncDispose]() {
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch {
          // Closed by the test.
        }
      }
      relay.close();
      await relay.closed;
    },
  };
}

/** Reads until the end of the stream: everything read, as text. */
async function readAll(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(1024);
  const decoder = new TextDecoder();
  let text = "";
  for (let size; (size = await conn.read(buffer)) !== null;) {
    text += decoder.decode(buffer.subarray(0, size), { stream: true });
  }
  return text;
}

function randomBytes(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65_536) {
    crypto.getRandomValues(data.subarray(offset, offset + 65_536));
  }
  return data;
}

test("Relay passes 1 MiB each way at once, byte for byte, and tells of each chunk from the client", async () => {
  await using r = await relayed();
  const [up, down] = [randomBytes(1 << 20), randomBytes(1 << 20)];
  const [atServer, atClient] = await Promise.all([
    readExactly(r.server, up.length),
    readExactly(r.client, down.length),
    writeAll(r.client, up),
    writeAll(r.server, down),
  ]);
  assert.deepEqual(atServer, up);
  assert.deepEqual(atClient, down);
  assert.ok(r.calls.clientData >= 16, `${r.calls.clientData} chunks`);
});

test("Relay passes the client's end of stream on, lets the server answer, and ends once the server closes", async () => {
  await using r = await relayed();
  await r.client.write(bytes("question"));
  await r.client.closeWrite();
  assert.equal(await readAll(r.server), "question");
  await r.server.write(bytes("answer"));
  r.server.close();
  assert.equal(await readAll(r.client), "answer");
  assert.deepEqual(await r.relay.closed, {});
});

test("Relay.close() closes both sides at once", async () => {
  await using r = await relayed();
  await assertEchoesThrough(r);
  r.relay.close();
  assert.equal(await readAll(r.client), "");
  assert.equal(await readAll(r.server), "");
  assert.deepEqual(await r.relay.closed, {});
});

test("Relay.finish() hears the client no more, ends the server's stream, and hands on what the server still sends", async () => {
  await using r = await relayed();
  await assertEchoesThrough(r);
  assert.equal(r.relay.ignoringClient, false);
  r.relay.finish();
  r.relay.finish(); // once is enough
  assert.equal(r.relay.ignoringClient, true);
  await r.client.write(bytes("ignored"));
  assert.equal(await readAll(r.server), "");
  await r.server.write(bytes("last words"));
  r.server.close();
  assert.equal(await readAll(r.client), "last words");
  assert.deepEqual(await r.relay.closed, {});
  assert.equal(r.calls.clientData, 1);
});

test("Relay ends with the error when the client resets, and closes the server's side", async () => {
  await using r = await relayed();
  // Close with unread bytes: the kernel answers with a reset.
  await r.server.write(randomBytes(256 * 1024));
  await readExactly(r.client, 1);
  r.client.close();
  const { error } = await r.relay.closed;
  assert.ok(
    error instanceof Deno.errors.ConnectionReset ||
      error instanceof Deno.errors.BrokenPipe,
    String(error),
  );
  assert.equal(await readAll(r.server).catch(() => ""), "");
});

/** One exchange each way, to show the relay is up. */
async function assertEchoesThrough(
  r: { client: Deno.Conn; server: Deno.Conn },
): Promise<void> {
  await r.client.write(bytes("ping"));
  assert.deepEqual(await readExactly(r.server, 4), bytes("ping"));
  await assertEchoes(
    { read: (b) => r.client.read(b), write: (d) => r.server.write(d) },
    "pong",
  );
}

test("Relay hands every byte on through a connection that takes one byte a write", async () => {
  const [client, clientSide] = memoryStreamPair();
  const [serverSide, server] = memoryStreamPair();
  const oneByteAtATime = {
    ...serverSide,
    write: (data: Uint8Array) => serverSide.write(data.subarray(0, 1)),
    closeWrite: () => Promise.resolve(serverSide.closeWrite()),
  };
  const relay = new Relay(
    {
      ...clientSide,
      closeWrite: () => Promise.resolve(clientSide.closeWrite()),
    },
    oneByteAtATime,
  );
  await client.write(bytes("every byte"));
  client.closeWrite();
  assert.deepEqual(await readExactly(server, 10), bytes("every byte"));
  assert.equal(await server.read(new Uint8Array(1)), null);
  server.close();
  assert.deepEqual(await relay.closed, {});
});

/**
 * A relay over in-memory streams, with `options`: its client and server ends,
 * and the size of each buffer the relay read into from each, in turn.
 */
function relayedInMemory(options: RelayOptions = {}) {
  const [client, clientSide] = memoryStreamPair();
  const [serverSide, server] = memoryStreamPair();
  const readInto = { client: [] as number[], server: [] as number[] };
  const end = (stream: typeof clientSide, sizes: number[]) => ({
    ...stream,
    read(buffer: Uint8Array) {
      sizes.push(buffer.length);
      return stream.read(buffer);
    },
    closeWrite: () => Promise.resolve(stream.closeWrite()),
  });
  const relay = new Relay(
    end(clientSide, readInto.client),
    end(serverSide, readInto.server),
    options,
  );
  return { client, server, relay, readInto };
}

test("Relay reads each way into 512 bytes of its own, and borrows 1 KiB only once a read fills them", async () => {
  const { client, server, relay, readInto } = relayedInMemory();
  for (const [from, to] of [[client, server], [server, client]]) {
    await from.write(new Uint8Array(511));
    await readExactly(to, 511);
    await from.write(new Uint8Array(513));
    await readExactly(to, 513);
  }
  // Every job runs, each way's next read among them.
  await new Promise((resolve) => setTimeout(resolve, 0));
  // 511 bytes, then 512 of 513 (full), the last byte into 1 KiB (short),
  // and the read that waits is on the relay's own 512 again.
  const eachWay = [512, 512, 1024, 512];
  assert.deepEqual(readInto, { client: eachWay, server: eachWay });
  relay.close();
  assert.deepEqual(await relay.closed, {});
});

test("Relay passes only the first bytes passClientData allows, then hears the client no more, with no end of stream to the server", async () => {
  const seen: string[] = [];
  const { client, server, relay } = relayedInMemory({
    passClientData(data) {
      seen.push(new TextDecoder().decode(data));
      return data.length > 3 ? 3 : data.length;
    },
  });
  await client.write(bytes("ab"));
  assert.deepEqual(await readExactly(server, 2), bytes("ab"));
  await client.write(bytes("cdefg"));
  assert.deepEqual(await readExactly(server, 3), bytes("cde"));
  assert.equal(relay.ignoringClient, true);
  await client.write(bytes("never"));
  // The server still answers, and reads no end of stream: the relay ends as
  // the server does.
  await server.write(bytes("still here"));
  assert.deepEqual(await readExactly(client, 10), bytes("still here"));
  server.close();
  assert.deepEqual(await relay.closed, {});
  assert.deepEqual(seen, ["ab", "cdefg"]);
});

test("Relay reads nothing from the client while holdClient() holds, and asks again as each chunk from the server reaches the client", async () => {
  let hold = true;
  let asked = 0;
  const { client, server, relay } = relayedInMemory({
    holdClient: () => {
      asked++;
      return hold;
    },
  });
  let passed = false;
  const arrived = readExactly(server, 4).then((data) => {
    passed = true;
    return data;
  });
  await client.write(bytes("held"));
  await server.write(bytes("one"));
  assert.deepEqual(await readExactly(client, 3), bytes("one"));
  // Every job runs, the relay's check after "one" among them.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(passed, false, "passed while held");
  assert.equal(asked, 2);
  hold = false;
  await server.write(bytes("two"));
  assert.deepEqual(await readExactly(client, 3), bytes("two"));
  assert.deepEqual(await arrived, bytes("held"));
  relay.close();
  assert.deepEqual(await relay.closed, {});
});

test("Relay.close() ends a held client's wait", async () => {
  const { relay } = relayedInMemory({ holdClient: () => true });
  relay.close();
  assert.deepEqual(await relay.closed, {});
});

test("Relay gives a borrowed read buffer back while it holds the client, and reads it again into its own 512 bytes", async () => {
  const given: number[] = [];
  const readBuffers = new class extends ReadBufferPool {
    override give(buffer: Uint8Array<ArrayBuffer>): void {
      given.push(buffer.length);
      super.give(buffer);
    }
  }();
  let hold = false;
  const { client, server, relay, readInto } = relayedInMemory({
    holdClient: () => hold,
    readBuffers,
  });
  // A full read of the relay's own 512 bytes: the next read borrows 1 KiB.
  await client.write(new Uint8Array(512));
  hold = true;
  await readExactly(server, 512);
  // Every job runs, the relay's check of the hold among them.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(given, [1024]);
  hold = false;
  await server.write(bytes("go on"));
  await readExactly(client, 5);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(readInto.client, [512, 512]);
  relay.close();
  assert.deepEqual(await relay.closed, {});
});

test("Relay hands an answer larger than its idle buffer on without Nagle's wait for an acknowledgement", async () => {
  await using relay = await relayed();
  const answer = new Uint8Array(5_000).fill(7);
  const request = bytes("?");
  const started = performance.now();
  // Each exchange is read 512 bytes, 1 KiB, then the rest, and written so:
  // with Nagle's algorithm the last write waits for the client's delayed
  // acknowledgement, 40 ms each time.
  for (let i = 0; i < 10; i++) {
    await writeAll(relay.client, request);
    await readExactly(relay.server, 1);
    await writeAll(relay.server, answer);
    await readExactly(relay.client, answer.length);
  }
  const elapsedMs = performance.now() - started;
  assert.ok(elapsedMs < 200, `10 exchanges took ${elapsedMs.toFixed(0)} ms`);
});

Deno.test("Relay sets TCP_NODELAY on both of its sockets", async () => {
  const set: [string, boolean][] = [];
  const side = (name: string) => {
    const closed = Promise.withResolvers<null>();
    return {
      read: () => closed.promise,
      write: (data: Uint8Array) => Promise.resolve(data.length),
      closeWrite: () => Promise.resolve(),
      close: () => closed.resolve(null),
      setNoDelay: (noDelay: boolean) => set.push([name, noDelay]),
    };
  };
  const relay = new Relay(side("client"), side("server"));
  assert.deepEqual(set, [["client", true], ["server", true]]);
  relay.close();
  await relay.closed;
});
