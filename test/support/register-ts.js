// Lets a child process run the TypeScript sources directly (`node -r ./test/support/register-ts.js src/main.ts`),
// so tests of process behaviour (exit codes, signals) need no build step. Transpile-only, like ts-jest here.
const fs = require('node:fs');
const ts = require('typescript');
const { compilerOptions } = require('../../tsconfig.json');

const options = { ...compilerOptions, module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true, incremental: false, tsBuildInfoFile: undefined };
delete options.lib;
delete options.types;

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: options, fileName: filename });
  module._compile(outputText, filename);
};
