/**
 * The siege's attackers, run as a process of their own so that the probes'
 * timing is not theirs, as slowhttptest runs them: of each kind it keeps up
 * to COUNT connections open, opening new ones as the service cuts them, at
 * most RATE a second (slowhttptest's `-c` and `-r`). Silent clients connect
 * to the TLS echo port and never start a handshake; slowloris clients finish
 * their handshake on the HTTPS port, then send a request head a byte every
 * 200 ms.
 *
 * ```sh
 * deno run --allow-net --allow-read bench/siege/attackers.ts ECHO_PORT HTTP_PORT CERT_FILE COUNT RATE
 * ```
 *
 * Prints one line a second: `open=N opened=N` (open now of both kinds, and
 * opened in that second).
 *
 * @module
 */

const [echoPort, httpPort, certFile, count, rate] = Deno.args;
const caCerts = [await Deno.readTextFile(certFile)];
const counts = { open: 0, opened: 0 };

/** Resolves once the service has closed `conn`. */
async function closedByService(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(1024);
  while (await conn.read(buffer).catch(() => null) !== null);
}

/** A client that connects to the TLS echo port and says nothing. */
async function silentClient(): Promise<void> {
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: Number(echoPort),
  });
  await closedByService(conn);
  conn.close();
}

const HEAD = new TextEncoder().encode(
  "GET /healthcheck HTTP/1.1\r\nHost: x\r\n" + "X-a: b\r\n".repeat(1000),
);

/** A client that sends an HTTPS request head a byte every 200 ms. */
async function slowlorisClient(): Promise<void> {
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: Number(httpPort),
    caCerts,
  });
  try {
    let cut = false;
    const closed = closedByService(conn).then(() => cut = true);
    for (let i = 0; !cut && i < HEAD.length; i++) {
      await conn.write(HEAD.subarray(i, i + 1));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await closed;
  } finally {
    conn.close();
  }
}

/**
 * Keeps up to COUNT clients of one kind open, opening at most RATE a second
 * in steps of 10 ms.
 */
function keepUp(client: () => Promise<void>): void {
  let open = 0;
  let credit = 0;
  setInterval(() => {
    credit = Math.min(credit + Number(rate) / 100, Number(rate) / 100 + 1);
    while (credit >= 1 && open < Number(count)) {
      credit--;
      open++;
      counts.open++;
      counts.opened++;
      client().catch(() => {
        // Refused, reset or cut mid-handshake: it counts as cut.
      }).finally(() => {
        open--;
        counts.open--;
      });
    }
  }, 10);
}

keepUp(silentClient);
keepUp(slowlorisClient);
setInterval(() => {
  console.log(`open=${counts.open} opened=${counts.opened}`);
  counts.opened = 0;
}, 1_000);
