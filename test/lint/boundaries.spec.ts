import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

interface Case {
  /** Where the text is linted as if it stood (the boundary rules are chosen by path). */
  path: string;
  code: string;
}

/**
 * Lints each text with the project's own ESLint config, as if it were the file at `path`, and returns the messages
 * of the boundary rule. ESLint runs in a child process: it loads its flat config as an ES module, which Jest's
 * CommonJS sandbox would get in the way of.
 */
function boundaryErrors(cases: Case[]): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    (async () => {
      const eslint = new ESLint({ cwd: process.cwd() });
      const out = [];
      for (const c of JSON.parse(process.argv[1])) {
        const [result] = await eslint.lintText(c.code, { filePath: c.path });
        out.push(result.messages.filter((m) => ['@typescript-eslint/no-restricted-imports', 'no-restricted-syntax', 'max-lines'].includes(m.ruleId)).map((m) => m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  const out = execFileSync(process.execPath, ['-e', script, JSON.stringify(cases)], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out) as string[][];
}

const importing = (specifier: string) => `import { thing } from '${specifier}';\nexport const used = thing;\n`;
const usingEntityManager = 'export const em = (repo: { getEntityManager(): unknown }) => repo.getEntityManager();\n';
const importingName = (name: string, specifier: string) =>
  `import { ${name} } from '${specifier}';\nexport const used = ${name};\n`;

describe('module boundaries (npm run lint)', () => {
  // One ESLint start for every case: loading typescript-eslint takes a few seconds.
  const forbidden: Array<[string, Case]> = [
    [
      'share imports collaboration',
      { path: 'src/modules/share/x.ts', code: importing('../collaboration/collaboration.service') },
    ],
    [
      'share imports collaboration from a subfolder',
      {
        path: 'src/modules/share/entities/x.ts',
        code: importing('../../collaboration/entities/collab-pipeline.entity'),
      },
    ],
    [
      'collaboration imports share',
      { path: 'src/modules/collaboration/x.ts', code: importing('../share/shares.service') },
    ],
    ['a product module imports the Dropbox SDK', { path: 'src/modules/files/x.ts', code: importing('dropbox') }],
    ['the jobs import the Dropbox SDK', { path: 'src/jobs/x.ts', code: importing('dropbox/dist/Dropbox') }],
    [
      'the dropbox module imports a product module',
      { path: 'src/modules/dropbox/x.ts', code: importing('../files/tracks.service') },
    ],
    ['files imports share', { path: 'src/modules/files/x.ts', code: importing('../share/shares.service') }],
    [
      'files imports collaboration',
      { path: 'src/modules/files/dto/x.ts', code: importing('../../../modules/collaboration/collaboration.service') },
    ],
    ['media imports share', { path: 'src/modules/media/x.ts', code: importing('../share/shares.service') }],
    [
      'common imports a module',
      { path: 'src/common/http/x.ts', code: importing('../../modules/accounts/users.service') },
    ],
    ['src imports tools', { path: 'src/config/x.ts', code: importing('../../tools/fixtures/audio') }],
    ['a new folder of src imports tools', { path: 'src/reports/x.ts', code: importing('../../tools/services') }],
    [
      'a module imports src/jobs',
      { path: 'src/modules/files/x.ts', code: importing('../../jobs/processors/files.processor') },
    ],
    ['a new module imports src/jobs', { path: 'src/modules/reports/x.ts', code: importing('../../jobs/jobs.module') }],
    [
      'the queue contracts import a module',
      { path: 'src/queues/x.ts', code: importing('../modules/files/tracks.service') },
    ],
    ['config imports database', { path: 'src/config/x.ts', code: importing('../database/entities') }],
    [
      'accounts imports dropbox',
      { path: 'src/modules/accounts/x.ts', code: importing('../dropbox/dropbox-connections.service') },
    ],
    [
      "share queries the library's table",
      { path: 'src/modules/share/x.ts', code: importing('../files/entities/track.entity') },
    ],
    [
      "collaboration's repository queries the library's table",
      {
        path: 'src/modules/collaboration/repositories/x.repository.ts',
        code: importing('../../files/entities/track-file.entity'),
      },
    ],
    [
      'a service holds the EntityManager',
      { path: 'src/modules/files/x.ts', code: importingName('EntityManager', '@mikro-orm/postgresql') },
    ],
    [
      'a service opens a context by hand',
      { path: 'src/modules/media/x.ts', code: importingName('RequestContext', '@mikro-orm/core') },
    ],
    [
      'a processor holds the ORM',
      { path: 'src/jobs/processors/x.ts', code: importingName('MikroORM', '@mikro-orm/postgresql') },
    ],
    [
      'a service injects the EntityManager',
      { path: 'src/modules/share/x.ts', code: importingName('InjectEntityManager', '@mikro-orm/nestjs') },
    ],
    ["a service uses its repository's EntityManager", { path: 'src/modules/share/x.ts', code: usingEntityManager }],
    [
      'a file has outgrown one purpose (451 lines)',
      { path: 'src/modules/share/x.ts', code: 'export const line = 1;\n'.repeat(451) },
    ],
  ];
  const allowed: Array<[string, Case]> = [
    [
      'a repository uses its EntityManager',
      { path: 'src/modules/share/repositories/x.repository.ts', code: usingEntityManager },
    ],
    ['a file of 450 lines', { path: 'src/modules/share/x.ts', code: 'export const line = 1;\n'.repeat(450) }],
    [
      "share names the library's entity as a type",
      { path: 'src/modules/share/x.ts', code: "import type { Track } from '../files/entities/track.entity';\n" },
    ],
    [
      "an entity relates to another module's entity",
      { path: 'src/modules/share/entities/x.entity.ts', code: importing('../../files/entities/track.entity') },
    ],
    [
      'a module uses its own entities',
      { path: 'src/modules/share/repositories/x.repository.ts', code: importing('../entities/share.entity') },
    ],
    [
      'a service injects its repository',
      { path: 'src/modules/share/x.ts', code: importingName('InjectRepository', '@mikro-orm/nestjs') },
    ],
    [
      'the database layer holds the ORM',
      { path: 'src/database/x.ts', code: importingName('MikroORM', '@mikro-orm/postgresql') },
    ],
    ['share imports files', { path: 'src/modules/share/x.ts', code: importing('../files/tracks.service') }],
    ['the gateway imports the SDK', { path: 'src/modules/dropbox/dropbox.gateway.ts', code: importing('dropbox') }],
    [
      'a part of a split gateway imports the SDK',
      { path: 'src/modules/dropbox/gateway/sharing.ts', code: importing('dropbox') },
    ],
    [
      'share imports a folder of its own named like a module',
      { path: 'src/modules/share/x.ts', code: importing('./share-files.service') },
    ],
    ['common imports common', { path: 'src/common/http/x.ts', code: importing('../authenticated-user') }],
    [
      'a module imports the queue contracts',
      { path: 'src/modules/files/x.ts', code: importing('../../queues/queues') },
    ],
    [
      'dropbox imports accounts',
      { path: 'src/modules/dropbox/x.ts', code: importing('../accounts/settings-sections') },
    ],
    [
      'the processors import a module',
      { path: 'src/jobs/processors/x.ts', code: importing('../../modules/files/uploads.service') },
    ],
  ];
  let results: string[][];

  beforeAll(() => {
    results = boundaryErrors([...forbidden, ...allowed].map(([, c]) => c));
  });

  it.each(forbidden.map(([name], i) => [name, i] as const))('fails when %s', (_name, i) => {
    expect(results[i]).toHaveLength(1);
  });

  it.each(allowed.map(([name], i) => [name, forbidden.length + i] as const))('passes when %s', (_name, i) => {
    expect(results[i]).toEqual([]);
  });

  it('names the rule that was broken', () => {
    expect(results[0][0]).toMatch(/share and collaboration never import each other/);
  });
});
