// Lets a child process run the TypeScript sources directly (`node -r ./test/support/register-ts.js src/main.ts`),
// so tests of process behaviour (exit codes, signals, crashes) need no build step. Transpile-only, like ts-jest
// here; the output is cached on disk by content hash, so the many child processes of a test run share the work.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ts = require('typescript');
const { compilerOptions } = require('../../tsconfig.json');

const options = {
  ...compilerOptions,
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  sourceMap: false,
  inlineSourceMap: true,
  incremental: false,
  tsBuildInfoFile: undefined,
};
delete options.lib;
delete options.types;

const cacheDir = path.join(os.tmpdir(), `pd-register-ts-${ts.version}`);
fs.mkdirSync(cacheDir, { recursive: true });

// The sources name a lazily loaded file by its compiled name (`import('./app.module.js')`, as ES module resolution
// requires); run from the sources, that file is the `.ts` beside it.
const Module = require('node:module');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  try {
    return resolveFilename.call(this, request, ...rest);
  } catch (err) {
    if (!/^\.\.?\/.*\.js$/.test(request)) throw err;
    return resolveFilename.call(this, request.replace(/\.js$/, '.ts'), ...rest);
  }
};

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha256').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, 'utf8');
  } catch {
    output = ts.transpileModule(source, { compilerOptions: options, fileName: filename }).outputText;
    // Write then rename: concurrent processes never read a half-written file.
    const temporary = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, output);
    fs.renameSync(temporary, cached);
  }
  module._compile(output, filename);
};
