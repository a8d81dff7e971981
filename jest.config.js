// Three projects so a developer can run one level alone (`jest --selectProjects unit`).
// Unit specs sit beside the code; anything that needs a server lives under test/ or the emulator's own folder.
const tsJest = {
  // Transpile only (type checking is tsc's job: npm run typecheck), which keeps the suite fast.
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json', diagnostics: false }],
};
// `npm run test:fast` (the inner loop: unit and integration) leaves out what starts or kills whole processes (a
// server or worker of its own: src/main.ts, src/worker.ts), the fault scenarios (Redis, PostgreSQL, Dropbox outages)
// and the browser specs; `npm test` runs everything.
const SLOW_SCENARIOS = [
  '<rootDir>/test/faults/',
  '<rootDir>/test/browser/',
  '<rootDir>/test/e2e/(process|worker-shutdown|collaboration-crash|collaboration-expiry-crash|collaboration-chaos|demo|split-spool|replicas-coherence|redis-eviction|built-entry-points)\\.spec\\.ts$',
  '<rootDir>/test/integration/upload-crash\\.spec\\.ts$',
  '<rootDir>/test/security/(request-logs|secrets)\\.spec\\.ts$',
];
const common = {
  transform: tsJest,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testPathIgnorePatterns: ['/node_modules/', ...(process.env.PD_TEST_FAST === '1' ? SLOW_SCENARIOS : [])],
};
module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 2,
  // A worker that has run many app specs holds 0.6–1 GB (what each file's modules leave behind), and every full
  // garbage collection then costs seconds; past this it is replaced between files (test:fast: 191 s before,
  // 173–190 s since).
  workerIdleMemoryLimit: '600MB',
  // Integration specs start real servers; unit specs finish long before this.
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'tools',
      testMatch: ['<rootDir>/tools/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.spec.ts'],
    },
  ],
};
