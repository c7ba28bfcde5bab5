/**
 * A port that was free a moment ago on `hostname` (127.0.0.1 unless given),
 * and with `ipv6` on ::1 as well: for a test that must name a port before
 * something listens on it, or see that nothing does.
 */
export function freePort(
  { hostname = "127.0.0.1", ipv6 = false } = {},
): number {
  for (let attempt = 1;; attempt++) {
    using listener = Deno.listen({ hostname, port: 0 });
    if (!ipv6) return listener.addr.port;
    try {
      using _ = Deno.listen({ hostname: "::1", port: listener.addr.port });
      return listener.addr.port;
    } catch (error) {
      if (attempt === 10) throw error;
    }
  }
}
