/**
 * The siege's attackers, run as a process of their own so that the probes'
 * timing is not theirs: silent clients on the TLS echo port, which never
 * start a handshake, and slowloris clients on the HTTPS port, which finish
 * the handshake and then send a request head a byte at a time. Each
 * reconnects `pauseMs` after the service closes it, until killed.
 *
 * ```sh
 * deno run --allow-net --allow-read bench/siege/attackers.ts ECHO_PORT HTTP_PORT CERT_FILE SILENT SLOWLORIS PAUSE_MS
 * ```
 *
 * Prints one line a second: `connects=N cuts=N`.
 *
 * @module
 */

const [echoPort, httpPort, certFile, silent, slowloris, pauseMs] = Deno.args;
const caCerts = [await Deno.readTextFile(certFile)];
const counts = { connects: 0, cuts: 0 };
const pause = () =>
  new Promise((resolve) => setTimeout(resolve, Number(pauseMs)));

/** Resolves once the service has closed `conn`. */
async function closedByService(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(1024);
  while (await conn.read(buffer).catch(() => null) !== null);
}

/** A client that connects to the TLS echo port and says nothing. */
async function silentClient(): Promise<never> {
  while (true) {
    try {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: Number(echoPort),
      });
      counts.connects++;
      await closedByService(conn);
      conn.close();
      counts.cuts++;
    } catch {
      // Refused or reset: try again.
    }
    await pause();
  }
}

/** A client that sends an HTTPS request head a byte every 200 ms. */
async function slowlorisClient(): Promise<never> {
  const head = new TextEncoder().encode(
    "GET /healthcheck HTTP/1.1\r\nHost: x\r\n" + "X-a: b\r\n".repeat(1000),
  );
  while (true) {
    try {
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: Number(httpPort),
        caCerts,
      });
      counts.connects++;
      try {
        const closed = closedByService(conn);
        let cut = false;
        closed.then(() => cut = true);
        for (let i = 0; !cut && i < head.length; i++) {
          await conn.write(head.subarray(i, i + 1));
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        await closed;
      } finally {
        conn.close();
      }
      counts.cuts++;
    } catch {
      // Refused, reset, or cut mid-handshake: try again.
    }
    await pause();
  }
}

for (let i = 0; i < Number(silent); i++) silentClient();
for (let i = 0; i < Number(slowloris); i++) slowlorisClient();
setInterval(() => {
  console.log(`connects=${counts.connects} cuts=${counts.cuts}`);
  counts.connects = counts.cuts = 0;
}, 1_000);
