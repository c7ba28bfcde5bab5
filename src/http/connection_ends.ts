/**
 * Why an HTTP connection ended: either side closed it (`closed`), it waited
 * with no request in flight for too long (`idle`), a request took too long
 * (`request_timeout`), the service shut down (`shutdown`), the client reset
 * it (`reset`), any other failure (`error`), or it switched to another
 * protocol, a WebSocket, which counts it from then on (`upgraded`).
 */
export const HTTP_CONNECTION_ENDS = [
  "closed",
  "idle",
  "request_timeout",
  "shutdown",
  "reset",
  "error",
  "upgraded",
] as const;

/** Why an HTTP connection ended: one of {@linkcode HTTP_CONNECTION_ENDS}. */
export type HttpConnectionEnd = typeof HTTP_CONNECTION_ENDS[number];
