// Starts a conntrack receiver with its defaults in this process and prints how
// it went as one JSON line: {"started":true} or {"code":...,"message":...}.
// The no-privilege / no-conntrack tests run it under setpriv or an LD_PRELOAD
// fault injector; exiting 0 with a coded error is the "no crash" they check.

import { conntrackReceiverFactory } from '../../../src/receiver/conntrack/factory.ts';
import { defaultsOf } from '../../../src/config/schema.ts';
import { isPodflowError } from '../../../src/errors/podflow-error.ts';
import { testSettings } from '../../support/test-settings.ts';

// Only with --run: the test runner also loads every file under test/.
if (process.argv[2] === '--run') {
  const r = conntrackReceiverFactory.create(
    testSettings('conntrack'), defaultsOf(conntrackReceiverFactory.configSchema), { mutatesData: false, consume: async () => undefined },
  );
  try {
    await r.start();
    process.stdout.write(`${JSON.stringify({ started: true })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify(isPodflowError(e) ? { code: e.code, message: e.message } : { crash: String(e) })}\n`);
  } finally {
    await r.shutdown();
  }
}
