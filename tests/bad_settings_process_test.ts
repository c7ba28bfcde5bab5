// The UDP, TLS echo port, banner and served-by settings, given bad values,
// stop main.ts before anything listens: one line, exit 2.
import { assertRefusesToStart, ServiceProcess } from "./_service_process.ts";
import { test } from "./_time_limit.ts";

test("main.ts exits 2 with one line for a bad --udp, --udp-port, --tls-echo-port, --banner or --served-by", async () => {
  const cases: [string[], Record<string, string>, string][] = [
    [
      [],
      { ECHOSERVER__UDP: "on" },
      'ECHOSERVER__UDP: "on" is not true or false',
    ],
    [["--udp-port", "5000"], {}, '--udp-port: "5000" needs --udp'],
    [
      ["--tls-echo-port", "4443"],
      {},
      '--tls-echo-port: "4443" needs --tls-cert',
    ],
    [
      ["--banner", "{pods}"],
      {},
      '--banner: "{pods}" has an unknown placeholder',
    ],
    [
      ["--served-by", "{pod}"],
      { POD_NAME: "a\tb" },
      '--served-by: "{pod}" renders with a control character (U+0009)',
    ],
  ];
  for (const [args, env, message] of cases) {
    await using service = new ServiceProcess(args, { env });
    await assertRefusesToStart(service, 2, message);
  }
});
