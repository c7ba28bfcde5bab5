import { bytes, connect, writeAll } from "./_echo_client.ts";

/**
 * A request whose body says 100 bytes and stops after 3. It is answered (no
 * route reads a body), but its connection stays open for the rest.
 */
export async function halfSentBody(port: number): Promise<Deno.TcpConn> {
  const conn = await connect(port);
  await conn.write(bytes(
    "POST /healthcheck HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
  ));
  return conn;
}

/**
 * Sends raw bytes to an HTTP server and returns the status code of its
 * answer, or "closed" when it closed (or reset) the connection instead.
 */
export async function rawHttpStatus(
  port: number,
  request: string | Uint8Array,
): Promise<number | "closed"> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(
      conn,
      typeof request === "string" ? bytes(request) : request,
    );
  } catch {
    // The server may close before it has read everything; its answer decides.
  }
  return await readStatus(conn);
}

/** Reads up to the end of a status line: its code, or "closed" without one. */
export async function readStatus(conn: Deno.Conn): Promise<number | "closed"> {
  let head = "";
  const buffer = new Uint8Array(1024);
  const decoder = new TextDecoder();
  while (!head.includes("\r\n")) {
    let size: number | null;
    try {
      size = await conn.read(buffer);
    } catch {
      size = null;
    }
    if (size === null) return "closed";
    head += decoder.decode(buffer.subarray(0, size));
  }
  return Number(head.match(/^HTTP\/1\.1 (\d{3}) /)?.[1]);
}
