import { makeTestCertificate } from "./_tls.ts";

/** Two throwaway certificates for the tests of a file, made once. */
export const [CERTIFICATE, OTHER_CERTIFICATE] = await Promise.all([
  makeTestCertificate(),
  makeTestCertificate(),
]);
