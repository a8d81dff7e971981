import { PinoLogger } from 'nestjs-pino';
import { TOKEN, appLogging } from './logging.spec-support';

describe('request logging', () => {
  // One app for the file: nestjs-pino keeps the first app's root logger for the whole process.
  let app: Awaited<ReturnType<typeof appLogging>>;
  beforeAll(async () => {
    app = await appLogging('info');
  });
  afterAll(() => app.close());

  it('logs every request once, the share page through the lean logger, with share tokens cut short', async () => {
    await app.get(`/s/${TOKEN}`);
    await app.get(`/s/${TOKEN}`, 'HEAD');
    await app.get(`/s/${TOKEN}/files/f1/play`);
    await app.get('/tracks');
    await new Promise((resolve) => setImmediate(resolve));
    const completed = app.lines().filter((l) => l.msg === 'request completed');
    expect(completed.map((l) => [l.req.method, l.req.url, l.res.statusCode])).toEqual([
      ['GET', '/s/AbCd…', 200],
      ['HEAD', '/s/AbCd…', 200],
      ['GET', '/s/AbCd…/files/f1/play', 200],
      ['GET', '/tracks', 200],
    ]);
    for (const line of completed) expect(typeof line.responseTime).toBe('number');
    expect(JSON.stringify(app.lines())).not.toContain(TOKEN);
  });

  it('redacts tokens and passwords at the top of a log object and one level down', async () => {
    PinoLogger.root.info(
      {
        accessToken: 'SECRET-A',
        refresh_token: 'SECRET-B',
        password: 'SECRET-C',
        grant: { refreshToken: 'SECRET-D', access_token: 'SECRET-E' },
      },
      'grant',
    );
    const logged = JSON.stringify(app.lines());
    expect(logged).toContain('grant');
    expect(logged).not.toMatch(/SECRET-/);
  });
});
