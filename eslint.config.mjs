// ESLint (flat config): typescript-eslint's recommended rules, and the module boundaries of the architecture.
// Formatting is Prettier's job (`npm run format:check`), so eslint-config-prettier turns off every style rule.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// ---- Module boundaries (ARCHITECTURE: "Boundaries are lint rules") -----------------------------------------------
// Each rule forbids imports by their specifier. Relative specifiers are matched by what they climb to: from
// src/modules/share/x.ts, `../collaboration/…` and `../../modules/collaboration/…` both reach the collaboration module.
const climbsTo = (path) => `^(\\.\\./)+${path}(/|$)`;
const moduleRegex = (name) => climbsTo(`(modules/)?${name}`);
const noModule = (name, why) => ({ regex: moduleRegex(name), message: why });

/** Where a rule applies (globs from the repository root) and what it forbids there. */
const RULES = [
  {
    files: ['src/**/*.ts'],
    patterns: [
      { regex: climbsTo('tools'), message: 'tools/ holds dev-only programs: nothing under src/ imports them.' },
    ],
  },
  {
    // The Dropbox SDK is the gateway's alone; the rule is on the folder so the gateway may be split into parts.
    files: ['src/**/*.ts'],
    ignores: ['src/modules/dropbox/**'],
    paths: [
      {
        name: 'dropbox',
        message: 'Only the Dropbox gateway (src/modules/dropbox/) imports the SDK: call DropboxGateway.',
      },
    ],
    patterns: [{ regex: '^dropbox/', message: 'Only the Dropbox gateway (src/modules/dropbox/) imports the SDK.' }],
  },
  {
    files: ['src/common/**/*.ts'],
    patterns: [
      {
        regex: climbsTo('modules'),
        message: 'common/ is cross-cutting: it imports no module (move the shared piece down).',
      },
    ],
  },
  {
    // Queue names and job contracts sit in src/queues/, below both sides: modules enqueue, src/jobs/ processes.
    files: ['src/modules/**/*.ts', 'src/common/**/*.ts', 'src/config/**/*.ts', 'src/queues/**/*.ts'],
    patterns: [
      {
        regex: climbsTo('jobs'),
        message:
          'src/jobs/ (processors, Bull Board) sits above the modules: import queue names and job contracts from src/queues/.',
      },
    ],
  },
  {
    files: ['src/config/**/*.ts', 'src/queues/**/*.ts'],
    patterns: [
      { regex: climbsTo('modules'), message: 'config/ and queues/ sit below every module: they import none.' },
      {
        regex: climbsTo('database'),
        message: 'config/ and queues/ sit below database/ (the ORM config and entity list live there).',
      },
    ],
  },
  {
    // Accounts is the base module (users, sign-in): the others build on it, it builds on none.
    files: ['src/modules/accounts/**/*.ts'],
    patterns: [
      'dropbox',
      'files',
      'share',
      'collaboration',
      'media',
      'notifications',
      'metrics',
      'dashboard',
      'health',
    ].map((name) =>
      noModule(
        name,
        'accounts imports no other module; a module that adds to its pages registers itself (SettingsSections).',
      ),
    ),
  },
  {
    files: ['src/modules/share/**/*.ts'],
    patterns: [
      noModule('collaboration', 'share and collaboration never import each other (move the shared piece down).'),
    ],
  },
  {
    files: ['src/modules/collaboration/**/*.ts'],
    patterns: [noModule('share', 'share and collaboration never import each other (move the shared piece down).')],
  },
  {
    files: ['src/modules/dropbox/**/*.ts'],
    patterns: ['files', 'share', 'collaboration', 'media', 'notifications', 'metrics', 'dashboard', 'health'].map(
      (name) =>
        noModule(name, 'the dropbox module imports no product module: it returns domain types, the modules call it.'),
    ),
  },
  {
    files: ['src/modules/files/**/*.ts'],
    patterns: ['share', 'collaboration'].map((name) =>
      noModule(name, 'files imports neither share nor collaboration: they build on it.'),
    ),
  },
  {
    files: ['src/modules/media/**/*.ts'],
    patterns: [noModule('share', 'media knows files and the gateway, never share.')],
  },
];

// ---- Modules own their tables ------------------------------------------------------------------------------------
// A module reaches its own tables through its repositories (MikroOrmModule.forFeature: Nest resolves them only inside
// the module that registered them) and another module's tables through that module's services. So outside
// src/database/, nothing holds the EntityManager or opens a context by hand (DbContext does), and another module's
// entity is imported only as a type — to name what its service returns — except by entities, whose relations are the
// schema's foreign keys.
const MODULES = ['accounts', 'collaboration', 'dropbox', 'files', 'media', 'notifications', 'share'];
const ORM_HANDLES = ['EntityManager', 'SqlEntityManager', 'MikroORM', 'RequestContext', 'TransactionContext'];
const ORM_DECORATORS = ['CreateRequestContext', 'EnsureRequestContext', 'Transactional'];
function tableOwnership() {
  const holdsNoEntityManager = {
    paths: [
      ...['@mikro-orm/core', '@mikro-orm/postgresql', '@mikro-orm/knex'].map((name) => ({
        name,
        importNames: [...ORM_HANDLES, ...ORM_DECORATORS],
        message:
          "modules don't hold the EntityManager: use the module's repositories (MikroOrmModule.forFeature), and DbContext (src/database/db-context.ts) for a context outside HTTP, a transaction or a flush.",
      })),
      {
        name: '@mikro-orm/nestjs',
        importNames: ['InjectEntityManager', 'InjectMikroORM'],
        message: "modules don't hold the EntityManager: inject the module's repositories.",
      },
    ],
  };
  const others = (own) => MODULES.filter((m) => m !== own);
  const ownsItsTables = (own) => ({
    patterns: [
      {
        regex: climbsTo(`(modules/)?(${others(own).join('|')})/entities`),
        allowTypeImports: true,
        message:
          "another module's table: call that module's service (import its entity with `import type` to name what it returns).",
      },
    ],
  });
  return [
    ...MODULES.map((name) => ({
      files: [`src/modules/${name}/**/*.ts`],
      notIn: ['entities'],
      ...ownsItsTables(name),
      ...holdsNoEntityManager,
    })),
    {
      // Processors call the modules' services; they touch no table themselves.
      files: ['src/jobs/**/*.ts'],
      ...ownsItsTables(null),
      ...holdsNoEntityManager,
    },
  ];
}
RULES.push(...tableOwnership());

/**
 * Flat config replaces a rule's options where two blocks match one file, so every file gets one block with all the
 * restrictions that apply to it: one block per folder of src/ (and one for its top-level files).
 */
function boundaryBlocks() {
  const areas = [
    ...['common', 'config', 'database', 'jobs', 'queues', 'types'].map((dir) => `src/${dir}`),
    ...[
      'accounts',
      'collaboration',
      'dashboard',
      'dropbox',
      'files',
      'health',
      'media',
      'metrics',
      'notifications',
      'share',
    ].map((name) => `src/modules/${name}`),
  ];
  // A glob applies to a folder when the folder lies under the glob's fixed part (`src/modules/**` covers each module).
  const under = (glob, area) => `${area}/`.startsWith(glob.split('**')[0]);
  const rulesFor = (area) =>
    RULES.filter(
      (rule) => rule.files.some((glob) => under(glob, area)) && !(rule.ignores ?? []).some((glob) => under(glob, area)),
    );
  // Files of a folder not listed here (a new one, the top-level files) get the rules for all of src/ (or all modules).
  const blocks = [
    { files: ['src/**/*.ts'], ignores: ['src/modules/dropbox/**'], options: rulesFor('src/new-folder') },
    {
      files: ['src/modules/**/*.ts'],
      ignores: ['src/modules/dropbox/**'],
      options: rulesFor('src/modules/new-module'),
    },
  ];
  for (const area of areas) {
    const options = rulesFor(area);
    blocks.push({ files: [`${area}/**/*.ts`], options });
    // A rule may leave out subfolders of an area (a module's entities): those get the area's other rules.
    const exempt = [...new Set(options.flatMap((rule) => rule.notIn ?? []))];
    for (const sub of exempt)
      blocks.push({
        files: [`${area}/${sub}/**/*.ts`],
        options: options.filter((rule) => !(rule.notIn ?? []).includes(sub)),
        exemption: true,
      });
  }
  return blocks
    .filter((block) => block.options.length > 0 || block.exemption)
    .map((block) => ({
      files: block.files,
      ...(block.ignores ? { ignores: block.ignores } : {}),
      rules: {
        // typescript-eslint's version of the core rule: it can let type-only imports through (allowTypeImports).
        '@typescript-eslint/no-restricted-imports': [
          'error',
          {
            paths: block.options.flatMap((rule) => rule.paths ?? []),
            patterns: block.options.flatMap((rule) => rule.patterns ?? []),
          },
        ],
      },
    }));
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-tools/**',
      'coverage/**',
      '.data/**',
      'bench-results/**',
      'node_modules/**',
      'public/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-prefixed names mark a parameter or binding that must exist but is not read (tsc checks the rest).
      // Input checks reject control characters on purpose (names, redirects, header values).
      'no-control-regex': 'off',
      // It flags a `let` given a starting value that a loop or try block then overwrites: noise, not bugs.
      'no-useless-assignment': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // A repository's EntityManager is the whole database again: services stay on the repository's own queries and
    // DbContext's unit of work (persist, remove, clear, flush).
    files: ['src/modules/**/*.ts', 'src/jobs/**/*.ts'],
    ignores: ['src/modules/*/repositories/**', '**/*.spec.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='getEntityManager']",
          message:
            "only a module's repositories use their EntityManager: add a repository method, or use DbContext for persist, remove, clear and flush.",
        },
      ],
    },
  },
  {
    // One purpose per file: past 450 lines a file has outgrown it (split it by purpose). Specs may run longer.
    files: ['src/**/*.ts', 'tools/**/*.ts', 'tools/**/*.mjs', 'public/js/**/*.js'],
    ignores: ['**/*.spec.ts', 'src/database/migrations/**'],
    rules: { 'max-lines': ['error', { max: 450 }] },
  },
  {
    // Tests read parsed JSON (log lines, API bodies) and run page scripts in Chromium, where Node's typings know no DOM.
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  ...boundaryBlocks(),
);
