import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { RedisStore } from 'connect-redis';
import cookieParser from 'cookie-parser';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { Logger, PinoLogger } from 'nestjs-pino';
import { leanRequestLog } from './common/logging';
import { AppModule } from './app.module';
import { CsrfService } from './common/http/csrf';
import { createValidationPipe } from './common/http/validation';
import { viewLocals } from './common/http/view-locals';
import { wantsJson } from './common/http/wants-json';
import { PUBLIC_DIR, VIEWS_DIR } from './common/paths';
import { RedisService } from './common/redis/redis.module';
import { registerViewEngine } from './common/views/handlebars';
import type { AppConfig } from './config/app-config';
import type { TuningOverrides } from './config/tuning';
import { SESSION_TTL_SECONDS, SessionsService } from './modules/accounts/sessions.service';
import { mountBullBoard } from './jobs/bull-board';
import { mountMetrics } from './modules/metrics/metrics.http';

/**
 * Builds the web application exactly as `main.ts` runs it; tests and the bench use the same function. Signals are
 * the entry point's to handle (`main.ts`): a test or bench process closes its apps itself, and a hook of Nest's
 * there would close the app under it and raise the signal again.
 */
export async function createWebApp(
  config: AppConfig,
  options: { workers: boolean; tuning?: TuningOverrides },
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register({ config, ...options }), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  await configureHttp(app, config);
  return app;
}

async function configureHttp(app: NestExpressApplication, config: AppConfig): Promise<void> {
  // Only the named proxies' X-Forwarded-For/-Proto are believed (never "whoever connects": see parseTrustProxy).
  app.set('trust proxy', config.http.trustProxy === false ? false : config.http.trustProxy);
  app.disable('x-powered-by');
  // Set up by LoggerModule when the app initialises, hence read per request.
  app.use(leanRequestLog(() => PinoLogger.root));

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          // Play redirects to Dropbox temporary links (the emulator's own address in the demo and tests).
          'media-src': ["'self'", ...config.dropbox.linkOrigins],
          'connect-src': ["'self'"],
          'form-action': ["'self'", config.dropbox.authorizeUrl],
          'frame-ancestors': ["'none'"],
          'upgrade-insecure-requests': config.http.secureCookies ? [] : null,
        },
      },
      strictTransportSecurity: config.http.secureCookies,
      referrerPolicy: { policy: 'same-origin' },
    }),
  );
  app.use(cookieParser());

  const redis = app.get(RedisService);
  const sessions = app.get(SessionsService);
  const sessionMiddleware = session({
    name: config.http.secureCookies ? '__Host-pd.sid' : 'pd.sid',
    store: new RedisStore({ client: redis.client, prefix: sessions.sessionKeyPrefix(), ttl: SESSION_TTL_SECONDS }),
    secret: config.session.secret,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      // Behind an HTTPS proxy with TRUST_PROXY, 'auto' marks the cookie Secure from X-Forwarded-Proto.
      secure: config.http.secureCookies ? true : 'auto',
      maxAge: SESSION_TTL_SECONDS * 1000,
      path: '/',
    },
  });
  // Probes and static files need no session (and must answer while Redis is away). Share links (`/s/…`) are
  // anonymous: their only form, the password form, is guarded by the signed double-submit CSRF cookie alone, so
  // recipients cost no session id, store round trip or cookie signing per view.
  const sessions503 = withoutStackTraces(sessionMiddleware);
  const sessionless = /^\/(?:health|static|s)\//;
  app.use((req: Request, res: Response, next: NextFunction) =>
    sessionless.test(req.path) ? next() : sessions503(req, res, next),
  );

  // What a signed-in page shows (every share link, a new access token) and every API answer (errors and 401s
  // included) must not stay in a browser's or a proxy's cache. A handler serving something cacheable (versioned
  // artwork) sets its own header later.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.session?.userId || req.path.startsWith('/api/')) res.setHeader('Cache-Control', 'no-store');
    next();
  });

  app.use(viewLocals(app.get(CsrfService)));

  app.useStaticAssets(PUBLIC_DIR, { prefix: '/static/', maxAge: config.env === 'production' ? '7d' : 0 });
  app.setBaseViewsDir(VIEWS_DIR);
  app.setViewEngine('hbs');
  app.set('view options', { layout: 'layouts/main' });
  // Compiled templates are kept, except in development where an edited view should show on the next request.
  // Express's own default keeps them only when NODE_ENV is production, so a test server compiled every page anew
  // on every request (more than half of a page's time), unlike the server it stands for.
  app.set('view cache', config.env !== 'development');
  await registerViewEngine();

  // Admin pages outside Nest's router (each checks its callers itself): after sessions, before Nest's routes.
  mountBullBoard(app);
  mountMetrics(app);

  app.useGlobalPipes(createValidationPipe());
  mountApiDocs(app);
}

/**
 * Session loading runs before Nest's routing, so its failures (Redis unreachable) would reach Express's
 * default handler, which prints stack traces. Answer 503 instead.
 */
function withoutStackTraces(middleware: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) =>
    middleware(req, res, (err?: unknown) => {
      if (!err) return next();
      // A session that could not be saved once the answer was already sent: nothing left to tell the client.
      if (res.headersSent) return;
      res.status(503).setHeader('Retry-After', '5');
      if (wantsJson(req)) {
        res.json({
          statusCode: 503,
          error: 'Service Unavailable',
          message: 'sessions are unavailable, try again shortly',
        });
      } else {
        res.type('text/plain').send('The server is temporarily unavailable. Please try again in a few seconds.');
      }
    });
}

const API_DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Producer Dashboard API</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
  <link rel="stylesheet" href="/static/css/api-docs.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/static/js/api-docs.js"></script>
</body>
</html>
`;

function mountApiDocs(app: INestApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Producer Dashboard API')
      .setDescription(
        'Every owner action of the dashboard. Authenticate with a personal access token from Settings ' +
          '(`Authorization: Bearer pdat_…`) or the session cookie plus an `X-CSRF-Token` header for writes.',
      )
      .setVersion('1')
      .addBearerAuth()
      .addCookieAuth('pd.sid')
      .build(),
  );
  document.paths = Object.fromEntries(Object.entries(document.paths).filter(([path]) => path.startsWith('/api/v1')));
  // Our own page around Swagger UI's assets: the stock one has inline styles and a style attribute that the
  // Content-Security-Policy (no 'unsafe-inline') blocks, which left it partly unstyled.
  const http = app.getHttpAdapter().getInstance() as {
    get(paths: string[], handler: (req: unknown, res: Response) => void): void;
  };
  http.get(['/api/docs', '/api/docs/'], (_req, res) => {
    res.type('html').setHeader('Cache-Control', 'no-cache');
    res.send(API_DOCS_HTML);
  });
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
}
