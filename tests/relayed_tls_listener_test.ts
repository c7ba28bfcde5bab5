import assert from "node:assert/strict";
import {
  listenTlsRelayed,
  type RelayedTlsListener,
} from "../src/echo/relayed_tls_listener.ts";
import { assertEchoes, connect } from "./_echo_client.ts";
import { CERTIFICATE } from "./_certificates.ts";
import { FakeTime } from "./_fake_time.ts";
import { readExactly } from "./_read.ts";
import { settlement } from "./_settlement.ts";
import { stub } from "./_stub.ts";
import { test } from "./_time_limit.ts";

const caCerts = [CERTIFICATE.cert];
/** The real timer, whatever fake clock a test installs. */
const realSetTimeout = globalThis.setTimeout;

/** A relayed TLS listener on loopback; closed when disposed. */
function listen(): RelayedTlsListener & Disposable {
  const listener = listenTlsRelayed(
    { hostname: "127.0.0.1", port: 0 },
    CERTIFICATE,
  );
  return Object.assign(listener, {
    [Symbol.dispose]: () => listener.close(),
  });
}

/**
 * The sockets this process has open, as `ls` sees its descriptors (Deno
 * reads /proc/self only with --allow-all).
 */
async function sockets(): Promise<number> {
  const { stdout } = await new Deno.Command("ls", {
    args: ["-l", `/proc/${Deno.pid}/fd`],
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout).split("-> socket:").length - 1;
}

/** Reads until the end of the stream, or a reset; how many bytes came. */
async function drain(conn: Deno.Conn): Promise<number> {
  const buffer = new Uint8Array(65_536);
  let total = 0;
  try {
    for (let size; (size = await conn.read(buffer)) !== null;) total += size;
  } catch {
    // A reset ends it too.
  }
  return total;
}

test("listenTlsRelayed() serves TLS with the client's own address, and a stream closed after its handshake hands on what it wrote", async () => {
  using listener = listen();
  using client = await Deno.connectTls({
    port: listener.addr.port,
    caCerts,
  });
  const conn = await listener.accept();
  assert.deepEqual(conn.remoteAddr, client.localAddr);
  await conn.handshake();
  // The ClientHello came from the client: it has been heard.
  assert.equal(conn.heard, true);
  await assertEchoes(
    { read: (b) => conn.read(b), write: (d) => client.write(d) },
    "up",
  );
  const last = new Uint8Array(300_000).fill(7);
  const writing = (async () => {
    for (let at = 0; at < last.length;) {
      at += await conn.write(last.subarray(at));
    }
    conn.close();
  })();
  assert.deepEqual(await readExactly(client, last.length), last);
  await writing;
  assert.equal(await client.read(new Uint8Array(1)), null);
  await conn.closed;
});

test("listenTlsRelayed() frees all three descriptors at once for a silent client closed before its handshake", async () => {
  using listener = listen();
  const before = await sockets();
  using client = await connect(listener.addr);
  const conn = await listener.accept();
  assert.equal(conn.heard, false);
  // The client's, and the service's three: its own, the relay's, the inner one.
  assert.equal(await sockets(), before + 4);
  conn.close();
  conn.close(); // once is enough
  await conn.closed;
  assert.equal(await client.read(new Uint8Array(1)), null);
  // Deno frees the inner TLS socket once its peer, the relay, has gone.
  for (
    let tries = 0;
    await sockets() > before + 1 && tries < 100;
    tries++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(await sockets(), before + 1);
});

/**
 * Writes to `conn` until it takes no more, as when its reader has stopped:
 * settles once nothing more was written for 60 ms of real time. The writes
 * go on in the background until the connection is cut.
 */
async function writeUntilStalled(
  conn: { write(data: Uint8Array): Promise<number> },
): Promise<void> {
  let written = 0;
  (async () => {
    const chunk = new Uint8Array(65_536);
    try {
      while (true) written += await conn.write(chunk);
    } catch {
      // Cut.
    }
  })();
  for (let last = -1, still = 0; still < 3;) {
    await new Promise((resolve) => realSetTimeout(resolve, 20));
    [last, still] = [written, written === last ? still + 1 : 0];
  }
}

test("listenTlsRelayed() cuts a client that does not read 1 s after its stream closed, and no sooner", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  using listener = listen();
  using client = await Deno.connectTls({ port: listener.addr.port, caCerts });
  const conn = await listener.accept();
  await Promise.all([conn.handshake(), client.handshake()]);
  await writeUntilStalled(conn);
  conn.close();
  const closed = settlement(conn.closed, time);
  await time.tickAsync(999);
  await time.runMicrotasks();
  assert.equal(closed.at, undefined);
  await time.tickAsync(1);
  await conn.closed;
  assert.equal(closed.at, 1_000);
});

test("listenTlsRelayed() once closed gives every open relay 1 s", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const listener = listen();
  using client = await Deno.connectTls({ port: listener.addr.port, caCerts });
  const conn = await listener.accept();
  await conn.handshake();
  listener.close();
  const closed = settlement(conn.closed, time);
  await time.tickAsync(999);
  await time.runMicrotasks();
  assert.equal(closed.at, undefined);
  await time.tickAsync(1);
  await conn.closed;
  assert.equal(closed.at, 1_000);
  assert.equal(await drain(client), 0);
  conn.close();
});

test("listenTlsRelayed() closes a connection to its inner port from anything but a relay, and serves the next client", async () => {
  using listener = listen();
  using stray = await Deno.connectTls({
    port: listener.innerAddr.port,
    caCerts,
  });
  using client = await Deno.connectTls({ port: listener.addr.port, caCerts });
  const conn = await listener.accept();
  // Had the stray been taken for the client, the client's would never finish.
  await Promise.all([conn.handshake(), client.handshake()]);
  // Deno finishes a handshake before it honours a close: then it is closed.
  await stray.handshake();
  assert.equal(await stray.read(new Uint8Array(1)), null);
  conn.close();
  await conn.closed;
});

test("listenTlsRelayed() closes a client whose relay cannot connect, and rejects with why", async () => {
  using listener = listen();
  const error = Object.assign(new Error("Too many open files (os error 24)"), {
    code: "EMFILE",
  });
  using client = await connect(listener.addr);
  {
    using _connect = stub(Deno, "connect", () => Promise.reject(error));
    await assert.rejects(listener.accept(), (thrown) => thrown === error);
  }
  assert.equal(await drain(client), 0);
});

Deno.test("listenTlsRelayed() with a key that is not PEM throws and leaves no port open", () => {
  assert.throws(() =>
    listenTlsRelayed({ hostname: "127.0.0.1", port: 0 }, {
      cert: CERTIFICATE.cert,
      key: "not a key",
    })
  );
});
