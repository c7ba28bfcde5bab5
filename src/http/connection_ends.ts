/**
 * Why an HTTP connection ended: either side closed it (`closed`), it waited
 * with no request in flight for too long (`idle`), a request took too long
 * (`request_timeout`), the service shut down (`shutdown`), the client reset
 * it (`reset`), or any other failure (`error`).
 */
export const HTTP_CONNECTION_ENDS = [
  "closed",
  "idle",
  "request_timeout",
  "shutdown",
  "reset",
  "error",
] as const;

/** Why an HTTP connection ended: one of {@linkcode HTTP_CONNECTION_ENDS}. */
export type HttpConnectionEnd = typeof HTTP_CONNECTION_ENDS[number];
