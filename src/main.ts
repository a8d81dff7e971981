import 'reflect-metadata';
import { exitAfterGrace } from './common/shutdown';
import { loadConfigOrExit } from './config/app-config';

async function main(): Promise<void> {
  // Configuration first: a bad value stops the process with its message before anything else loads.
  const config = loadConfigOrExit();
  // One import at a time: these are real import()s (module node20), and two that reach the same ES module (Nest's)
  // at once make Node's require(esm) fail with ERR_REQUIRE_ESM_RACE_CONDITION.
  const { createWebApp } = await import('./bootstrap.js');
  const { AppLogger } = await import('./common/app-logger.js');
  const app = await createWebApp(config, { workers: config.workers.enabled });
  // SIGTERM and SIGINT close the app (running jobs get their grace), then the process exits.
  app.enableShutdownHooks();
  exitAfterGrace(config.shutdown.graceMs, (message) => app.get(AppLogger).error(message));
  await app.listen(config.http.port, config.http.host);
}

void main();
