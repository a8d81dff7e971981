import 'reflect-metadata';
import { loadConfigOrExit } from './config/app-config';

async function main(): Promise<void> {
  // Configuration first: a bad value stops the process with its message before anything else loads.
  const config = loadConfigOrExit();
  const { createWebApp } = await import('./bootstrap');
  const app = await createWebApp(config, { workers: config.workers.enabled });
  await app.listen(config.http.port, config.http.host);
}

void main();
