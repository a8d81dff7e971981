// `npm run test:dropbox-live`: the gateway's contract specs (test/contract) against a real Dropbox account, so a
// studio can check that the emulator still answers as Dropbox does. They create and remove only their own scratch
// folder. Without credentials it says what it needs, in one line, and exits 0.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const { DROPBOX_LIVE_APP_KEY, DROPBOX_LIVE_REFRESH_TOKEN } = process.env;
if (!DROPBOX_LIVE_APP_KEY || !DROPBOX_LIVE_REFRESH_TOKEN) {
  console.log(
    'test:dropbox-live skipped: set DROPBOX_LIVE_APP_KEY and DROPBOX_LIVE_REFRESH_TOKEN (optionally DROPBOX_LIVE_APP_SECRET and DROPBOX_LIVE_SCRATCH_FOLDER) to run the gateway contract specs against a real Dropbox.',
  );
  process.exit(0);
}
const root = fileURLToPath(new URL('../..', import.meta.url));
const result = spawnSync(process.execPath, [`${root}node_modules/jest/bin/jest.js`, '--runInBand', 'test/contract'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    DROPBOX_LIVE: '1',
    NODE_OPTIONS:
      `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings=ExperimentalWarning`.trim(),
  },
});
process.exit(result.status ?? 1);
