import 'reflect-metadata';
import { exitAfterGrace } from './common/shutdown';
import { loadConfigOrExit } from './config/app-config';

async function main(): Promise<void> {
  // Configuration first: a bad value stops the process with its message before anything else loads.
  const config = loadConfigOrExit();
  const [{ createWebApp }, { Logger }] = await Promise.all([import('./bootstrap.js'), import('nestjs-pino')]);
  const app = await createWebApp(config, { workers: config.workers.enabled });
  exitAfterGrace(config.shutdown.graceMs, (message) => app.get(Logger).error(message));
  await app.listen(config.http.port, config.http.host);
}

void main();
