import { parseArgs } from 'node:util';
import { startDropboxEmulator } from './index';

/**
 * `node dist/tools/dropbox-emulator/cli.js [--port 8787] [--host 127.0.0.1] [--data-dir DIR] [--strict]
 * [--public-url URL] [--app-key KEY] [--app-secret SECRET]`
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string' },
      'public-url': { type: 'string' },
      'app-key': { type: 'string' },
      'app-secret': { type: 'string' },
      strict: { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${values.port}`);
  const emulator = await startDropboxEmulator({
    port,
    host: values.host,
    dataDir: values['data-dir'],
    publicUrl: values['public-url'],
    appKey: values['app-key'],
    appSecret: values['app-secret'],
    strict: values.strict,
  });
  const persistence = values['data-dir'] ? ` (data in ${values['data-dir']})` : '';
  process.stdout.write(`Dropbox emulator listening on ${emulator.url}${persistence}\n`);
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`dropbox-emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
