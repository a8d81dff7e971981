import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { loadConfig } from '../config/app-config';
import { leanRequestLog, loggerParams } from './logging';

@Controller('s/:token')
class ShareLikeController {
  @Get()
  page(): string {
    return 'page';
  }

  @Get('files/:fileId/play')
  play(): string {
    return 'play';
  }
}

@Controller('tracks')
class TracksLikeController {
  @Get()
  list(): string {
    return 'tracks';
  }
}

const TOKEN = 'AbCdEfGhIjKlMnOpQrStUvWx';

/** The logging set-up of the real app (loggerParams + leanRequestLog), on a small app, with the lines captured. */
async function appLogging(level: string): Promise<{
  lines: () => Array<Record<string, any>>;
  get: (path: string, method?: string) => Promise<void>;
  close: () => Promise<void>;
}> {
  const config = loadConfig({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/pd',
    SESSION_SECRET: 'x'.repeat(40),
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    LOG_LEVEL: level,
  });
  const written: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (written.push(chunk.toString()), done()) });
  const params = loggerParams(config);
  @Module({
    imports: [LoggerModule.forRoot({ ...params, pinoHttp: [params.pinoHttp as object, sink] })],
    controllers: [ShareLikeController, TracksLikeController],
  })
  class LoggingTestModule {}
  const app = await NestFactory.create<NestExpressApplication>(LoggingTestModule, { logger: false });
  app.use(leanRequestLog(() => PinoLogger.root));
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  return {
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    get: async (path, method = 'GET') => void (await (await fetch(`${base}${path}`, { method })).text()),
    close: () => app.close(),
  };
}

describe('request logging', () => {
  it('logs every request once, the share page through the lean logger, with share tokens cut short', async () => {
    const app = await appLogging('info');
    try {
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
    } finally {
      await app.close();
    }
  });

  it('redacts tokens and passwords at the top of a log object and one level down', async () => {
    const app = await appLogging('info');
    try {
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
    } finally {
      await app.close();
    }
  });

  it('writes nothing for the share page below the info level', async () => {
    const app = await appLogging('warn');
    try {
      await app.get(`/s/${TOKEN}`);
      expect(app.lines()).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
