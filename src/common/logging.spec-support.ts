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

/** A written line, as the specs read it (request lines carry req and res; others need not). */
export interface LogLine {
  msg?: string;
  req: { method: string; url: string };
  res: { statusCode: number };
  responseTime?: unknown;
}

export const TOKEN = 'AbCdEfGhIjKlMnOpQrStUvWx';

/**
 * The logging set-up of the real app (loggerParams + leanRequestLog), on a small app, with the lines captured.
 * nestjs-pino builds one root logger per process, from the first app's parameters (level and destination), and keeps
 * it: so one such app per spec file (Jest gives each file its own modules, and with them its own root).
 */
export async function appLogging(level: string): Promise<{
  lines: () => LogLine[];
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
        .map((line) => JSON.parse(line) as LogLine),
    get: async (path, method = 'GET') => void (await (await fetch(`${base}${path}`, { method })).text()),
    close: () => app.close(),
  };
}
