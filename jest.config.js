// Three projects so a developer can run one level alone (`jest --selectProjects unit`).
// Unit specs sit beside the code; anything that needs a server lives under test/ or the emulator's own folder.
const tsJest = {
  // Transpile only (type checking is tsc's job: npm run typecheck), which keeps the suite fast.
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json', diagnostics: false }],
};
const common = {
  transform: tsJest,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
};
module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 2,
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
