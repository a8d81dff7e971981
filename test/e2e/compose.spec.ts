import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { parse } from 'yaml';
import { EnvSchema } from '../../src/config/app-config';

const ROOT = resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  container_name?: string;
  restart?: string;
}

/** `docker compose` or Debian's `docker-compose`, whichever works here; neither needs a running engine for `config`. */
function composeCommand(): string[] | undefined {
  const candidates = [['docker', 'compose'], ['docker-compose']];
  return candidates.find(([cmd, ...args]) => spawnSync(cmd, [...args, 'version'], { stdio: 'ignore' }).status === 0);
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const { postgres, redis, migrate, web, worker, proxy } = compose.services;
const tool = composeCommand();

describe('docker-compose.yml', () => {
  (tool ? it : it.skip)(`passes \`${(tool ?? ['docker compose']).join(' ')} config\``, () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-compose-'));
    try {
      copyFileSync(join(ROOT, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
      // The example with its blanks filled, as an operator would leave it.
      const env = read('.env.example')
        .replace(/^POSTGRES_PASSWORD=$/m, 'POSTGRES_PASSWORD=abc123')
        .replace(/^SESSION_SECRET=$/m, `SESSION_SECRET=${'s'.repeat(48)}`)
        .replace(/^ENCRYPTION_KEY=$/m, `ENCRYPTION_KEY=${'0'.repeat(64)}`);
      writeFileSync(join(dir, '.env'), env);
      const [cmd, ...args] = tool as string[];
      const result = spawnSync(cmd, [...args, 'config', '-q'], { cwd: dir, encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has PostgreSQL 16 and Redis 7 with volumes and health checks', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['migrate', 'postgres', 'proxy', 'redis', 'web', 'worker']);
    expect(postgres.image).toMatch(/^postgres:16\b/);
    expect(postgres.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    expect(postgres.healthcheck?.test?.join(' ')).toContain('pg_isready');
    expect(redis.image).toMatch(/^redis:7\b/);
    expect(redis.command?.join(' ')).toContain('--appendonly yes');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(redis.healthcheck?.test?.join(' ')).toContain('redis-cli ping');
    expect(redis.command?.join(' ')).toContain('--maxmemory-policy noeviction');
    expect(Object.keys(compose.volumes).sort()).toEqual([
      'caddy-config',
      'caddy-data',
      'postgres-data',
      'redis-data',
      'spool-data',
    ]);
  });

  it('runs migrate, web and worker from one image, configured from .env', () => {
    for (const service of [migrate, web, worker]) {
      expect(service.image).toBe(migrate.image);
      expect(service.build).toBe('.');
      expect(service.env_file).toBe('.env');
      expect(service.environment?.DATABASE_URL).toContain('@postgres:5432/');
      expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
    }
    expect(migrate.command).toEqual(['node', 'dist/src/database/migrate.js']);
    expect(migrate.restart).toBe('no');
    expect(worker.command).toEqual(['node', 'dist/src/worker.js']);
    // web runs the image's default command.
    expect(web.command).toBeUndefined();
    expect(read('Dockerfile')).toMatch(/^CMD \["node", "dist\/src\/main\.js"\]$/m);
  });

  it('starts web with workers off, and web and workers only after the migration succeeded', () => {
    expect(web.environment?.WORKERS).toBe('off');
    expect(web.ports).toBeUndefined();
    expect(web.environment?.TRUST_PROXY).toBe('172.30.77.0/24');
    for (const service of [web, worker]) {
      expect(service.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
    }
    expect(migrate.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
  });

  it('gives web and workers one upload spool', () => {
    expect(web.volumes).toEqual(['spool-data:/app/.data/spool']);
    expect(worker.volumes).toEqual(web.volumes);
  });

  it('puts Caddy in front of the web replicas: the one published port, HTTPS for PUBLIC_HOST', () => {
    expect(proxy.image).toMatch(/^caddy:2\b/);
    expect(proxy.ports).toEqual(['80:80', '443:443', '443:443/udp']);
    expect(proxy.volumes).toContain('./Caddyfile:/etc/caddy/Caddyfile:ro');
    const caddyfile = read('Caddyfile');
    expect(caddyfile).toMatch(/^\{\$PUBLIC_HOST:localhost\} \{$/m);
    expect(caddyfile).toMatch(/dynamic a web 3000/);
    expect(web.container_name).toBeUndefined();
  });

  it('lets the worker scale: no fixed name, no published port, no HTTP health check', () => {
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.healthcheck).toEqual({ disable: true });
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('builds with dev dependencies and runs on Node 24 slim with production dependencies as a non-root user', () => {
    // The image runs the same Node major as the tests (the pinned `node` devDependency).
    const pinned = (
      JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as {
        devDependencies: Record<string, string>;
      }
    ).devDependencies.node;
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_IMAGE=node:${pinned.split('.')[0]}-bookworm-slim$`, 'm'));
    expect(pinned.split('.')[0]).toBe('24');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^RUN npm ci --ignore-scripts$/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(dockerfile).toMatch(/^ENV NODE_ENV=production$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*\/health\/live/m);
  });

  it('runs every process with the V8 young generation the bench measured, as npm start, start:worker and bench do', () => {
    const flag = /^ENV NODE_OPTIONS=(--max-semi-space-size=\d+)$/m.exec(dockerfile)?.[1];
    expect(flag).toBe('--max-semi-space-size=16');
    const scripts = (
      JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    for (const name of ['start', 'start:worker', 'bench']) expect(scripts[name]).toContain(flag);
  });

  it('copies what the server reads at run time', () => {
    for (const path of ['./dist/src', './views', './public']) expect(dockerfile).toContain(` ${path}\n`);
  });
});

describe('.env.example', () => {
  it('documents every variable the server reads', () => {
    const documented = new Set(
      read('.env.example')
        .split('\n')
        .map((line) => /^(?:# )?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
        .filter((name): name is string => name !== undefined),
    );
    const readByServer = getMetadataStorage()
      .getTargetValidationMetadatas(EnvSchema, '', true, false)
      .map((m) => m.propertyName);
    expect(readByServer.length).toBeGreaterThan(10);
    expect(readByServer.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('leaves the secrets blank', () => {
    expect(read('.env.example')).toMatch(/^SESSION_SECRET=$/m);
    expect(read('.env.example')).toMatch(/^ENCRYPTION_KEY=$/m);
    expect(read('.env.example')).toMatch(/^POSTGRES_PASSWORD=$/m);
  });
});
