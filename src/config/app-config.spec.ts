import { ConfigError, loadConfig } from './app-config';

const valid = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/pd',
  SESSION_SECRET: 'x'.repeat(40),
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults to a minimal environment', () => {
    const config = loadConfig(valid);
    expect(config.http.port).toBe(3000);
    expect(config.http.publicUrl).toBe('http://localhost:3000');
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'pd' });
    expect(config.workers.enabled).toBe(true);
    expect(config.encryption.key).toHaveLength(32);
    expect(config.http.secureCookies).toBe(false);
  });

  it('names DATABASE_URL when it is not a postgres URL', () => {
    expect(problemsOf({ ...valid, DATABASE_URL: 'nonsense' }).join()).toMatch(/DATABASE_URL must be a postgres/);
  });

  it('names PORT when it is out of range', () => {
    expect(problemsOf({ ...valid, PORT: '-1' }).join()).toMatch(/PORT must be an integer/);
    expect(problemsOf({ ...valid, PORT: 'abc' }).join()).toMatch(/PORT/);
  });

  it('reports every missing required variable at once', () => {
    const problems = problemsOf({}).join('\n');
    expect(problems).toMatch(/DATABASE_URL/);
    expect(problems).toMatch(/SESSION_SECRET/);
    expect(problems).toMatch(/ENCRYPTION_KEY/);
  });

  it('accepts hex keys and marks cookies secure behind an https public URL', () => {
    const config = loadConfig({ ...valid, ENCRYPTION_KEY: 'ab'.repeat(32), PUBLIC_URL: 'https://share.example.com/' });
    expect(config.encryption.key).toEqual(Buffer.alloc(32, 0xab));
    expect(config.http.publicUrl).toBe('https://share.example.com');
    expect(config.http.secureCookies).toBe(true);
  });

  it('rejects an unknown WORKERS value', () => {
    expect(problemsOf({ ...valid, WORKERS: 'maybe' }).join()).toMatch(/WORKERS must be "on" or "off"/);
  });

  it('shares the spool by default; otherwise names the spool host, and refuses a name unfit for a queue', () => {
    expect(loadConfig(valid).files.spoolShared).toBe(true);
    const own = loadConfig({
      ...valid,
      SPOOL_SHARED: 'false',
      SPOOL_HOST: 'studio-2.lan',
      SPOOL_HOST_TIMEOUT_SECONDS: '30',
    });
    expect(own.files).toMatchObject({ spoolShared: false, spoolHost: 'studio-2.lan', spoolHostTimeoutMs: 30_000 });
    expect(loadConfig(valid).files.spoolHost).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
    expect(problemsOf({ ...valid, SPOOL_HOST: 'a:b' }).join()).toMatch(/SPOOL_HOST must be a host name/);
    expect(problemsOf({ ...valid, SPOOL_SHARED: 'yes' }).join()).toMatch(/SPOOL_SHARED must be "true" or "false"/);
    expect(problemsOf({ ...valid, SPOOL_HOST_TIMEOUT_SECONDS: '1' }).join()).toMatch(/SPOOL_HOST_TIMEOUT_SECONDS/);
  });
});
