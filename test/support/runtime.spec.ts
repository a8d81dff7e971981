import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The project brings its own Node (the `node` devDependency, first on PATH inside npm scripts), so the suite runs on
// the pinned version even where the system Node is older. These checks fail if a test run ever falls back to it.
const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

describe('the runtime the tests run on', () => {
  const pinned = `v${pkg.devDependencies.node}`;

  it('is the pinned Node in the Jest worker', () => {
    process.stdout.write(`Jest worker on node ${process.version} (${process.execPath})\n`);
    expect(process.version).toBe(pinned);
  });

  it('is the same Node for processes a spec spawns, by execPath or by name', () => {
    expect(execFileSync(process.execPath, ['--version'], { encoding: 'utf8' }).trim()).toBe(pinned);
    // A tool that runs plain `node` (npm scripts, the demo) finds the project's own on PATH.
    expect(execFileSync('node', ['--version'], { encoding: 'utf8' }).trim()).toBe(pinned);
  });
});
