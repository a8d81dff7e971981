import 'reflect-metadata';
import { exitAfterGrace } from './common/shutdown';
import { loadConfigOrExit } from './config/app-config';

/**
 * Queue processors only, no HTTP: run as many of these as the studio needs (`docker compose up --scale worker=4`).
 * On SIGTERM, BullMQ workers finish their active jobs before the process exits, for up to SHUTDOWN_GRACE_SECONDS.
 */
async function main(): Promise<void> {
  // Configuration first: a bad value stops the process with its message before anything else loads.
  const config = loadConfigOrExit();
  // One import at a time (see main.ts: concurrent import()s of Nest's ES modules race in require(esm)).
  const { NestFactory } = await import('@nestjs/core');
  const { AppLogger } = await import('./common/app-logger.js');
  const { AppModule } = await import('./app.module.js');
  const app = await NestFactory.createApplicationContext(AppModule.register({ config, workers: true }), {
    bufferLogs: true,
  });
  app.useLogger(app.get(AppLogger));
  app.enableShutdownHooks();
  exitAfterGrace(config.shutdown.graceMs, (message) => app.get(AppLogger).error(message));
  await app.init();
  app.get(AppLogger).log(`worker started (concurrency ${config.workers.concurrency})`);
}

void main();
