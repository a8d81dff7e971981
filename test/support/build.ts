import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
/** Written by every `npm run build` (tsconfig.build.json), after the output files. */
const BUILD_INFO = join(ROOT, 'dist', '.build.tsbuildinfo');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(BUILD_INFO).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * What `npm run build` makes (dist/), for the specs that run the built programs (the demo). A build newer than every
 * source it compiles is reused, so a run after `npm run build` (as .ci/run does) compiles nothing; otherwise it
 * builds, incrementally.
 */
export async function ensureBuilt(): Promise<void> {
  const sources = ['src', 'tools', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((p) =>
    join(ROOT, p),
  );
  if (builtAt() >= Math.max(...sources.map(newestMtime))) return;
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
    },
  );
}
