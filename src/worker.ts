import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { loadConfigOrExit } from './config/app-config';

/**
 * Queue processors only, no HTTP: run as many of these as the studio needs (`docker compose up --scale worker=4`).
 * On SIGTERM, BullMQ workers finish or hand back their active jobs before the process exits.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await NestFactory.createApplicationContext(AppModule.register({ config, workers: true }), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.init();
  app.get(Logger).log(`worker started (concurrency ${config.workers.concurrency})`);
}

void main();
