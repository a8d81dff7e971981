import 'reflect-metadata';
import { createWebApp } from './bootstrap';
import { loadConfigOrExit } from './config/app-config';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await createWebApp(config, { workers: config.workers.enabled });
  await app.listen(config.http.port, config.http.host);
}

void main();
