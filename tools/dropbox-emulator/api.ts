import { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Args } from './args';
import { DropboxApiError, OperationFailure, authError, badRequest, rateLimitError, routeError, u } from './errors';
import { Emulator } from './emulator';
import { faultError } from './faults';
import { drain, headerSafeJson, readBody, sendContent, sendError, sendJson, sendText } from './http-io';
import { namespacesWritten } from './namespace-locks';
import { argsUnderRoot, pathRootPrefix, resultUnderRoot } from './path-root';
import { ASTRAL_CHARACTER } from './paths';
import { apiRoutes } from './routes';
import { ApiResult, ApiRoute } from './routes/route';

const RPC_CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain; charset=dropbox-cors-hack',
];

/**
 * One call to `/2/<route>`, in Dropbox's order: authentication and scope, then (for writes) the namespace lock,
 * latency and injected faults, argument decoding, the handler, and the answer in the route's style.
 */
export async function handleApiCall(emulator: Emulator, name: string, req: IncomingMessage, res: ServerResponse) {
  const onBytes = (bytes: number) => emulator.counters.received(bytes);
  const route = apiRoutes.get(name);
  emulator.counters.call(name);
  if (!route) {
    await drain(req, onBytes);
    return sendText(res, 404, `Unknown API function: "${name}"`);
  }
  let writer: string | undefined;
  const pendingFiles: Promise<unknown>[] = [];
  let callerId: string | undefined;
  let retryAfterHeader: string | undefined;
  const startedAt = Date.now();
  try {
    if (req.method !== 'POST') {
      throw new DropboxApiError(405, `Error in call to API function "${name}": Method not allowed`);
    }
    const caller = authenticate(emulator, name, route, req);
    emulator.counters.callBy(caller.accountId);
    callerId = caller.accountId;
    if (route.write) {
      writer = caller.accountId;
      const inFlight = emulator.counters.writeStarted(writer);
      if (emulator.settings.strict && inFlight > 1) throw rateLimitError('too_many_write_operations', 1);
    }
    if (emulator.settings.latencyMs > 0) await sleep(emulator.settings.latencyMs);
    const fault = emulator.faults.take(name, caller.accountId);
    await emulator.faults.delay(fault);
    const injected = fault && faultError(fault, () => emptyUploadSession(emulator, caller.accountId, pendingFiles));
    if (injected) {
      await Promise.all(pendingFiles);
      throw injected;
    }

    const account = emulator.state.account(caller.accountId);
    if (!account) throw authError(u('invalid_access_token'));
    const namespace = emulator.state.namespace(account.account_id);
    const rootPrefix = pathRootPrefix(name, account, req.headers['dropbox-api-path-root']);
    const args = argsUnderRoot(await readArgs(emulator, name, route, req, onBytes), rootPrefix);
    if (route.write) emulator.namespaceLocks.check(namespacesWritten(name, account.account_id, namespace, args));
    const result = await route.handle({
      route: name,
      emulator,
      account,
      namespace,
      args,
      req,
      refreshToken: caller.refreshToken,
    });
    await drain(req, onBytes);
    await sendResult(req, res, resultUnderRoot(result, rootPrefix));
  } catch (error) {
    if (error instanceof DropboxApiError) retryAfterHeader = error.headers['Retry-After'];
    await drain(req, onBytes).catch(() => undefined);
    sendFailure(res, route, error);
  } finally {
    if (writer) emulator.counters.writeEnded(writer);
    const retryAfter = res.statusCode === 429 ? Number(retryAfterHeader) : NaN;
    emulator.counters.logCall({
      route: name,
      accountId: callerId,
      write: Boolean(route.write),
      status: res.statusCode,
      startedAt,
      endedAt: Date.now(),
      ...(Number.isFinite(retryAfter) && { retryAfterMs: retryAfter * 1000 }),
    });
    emulator.changed();
  }
}

/** An open, empty upload session for an injected `files/upload` refusal to name. */
function emptyUploadSession(emulator: Emulator, accountId: string, pending: Promise<unknown>[]): string {
  const session = emulator.state.uploadSessions.create(accountId, emulator.blobs.newSessionFile());
  pending.push(emulator.blobs.append(Readable.from([]), session.file, 0));
  return session.id;
}

function authenticate(emulator: Emulator, name: string, route: ApiRoute, req: IncomingMessage) {
  const header = req.headers.authorization;
  if (!header) {
    throw badRequest(name, 'Must provide HTTP header "Authorization" or URL parameter "authorization".');
  }
  const match = header.match(/^Bearer (\S+)$/);
  if (!match) {
    throw new DropboxApiError(
      400,
      `Error in call to API function "${name}": Invalid authorization value in HTTP header "Authorization": ` +
        `"${header}".  Expecting "Bearer <oauth2-access-token>".`,
    );
  }
  const caller = emulator.state.tokens.authenticate(match[1]);
  if (route.scope && !caller.scope.includes(route.scope)) {
    throw authError({ '.tag': 'missing_scope', required_scope: route.scope });
  }
  return caller;
}

async function readArgs(
  emulator: Emulator,
  name: string,
  route: ApiRoute,
  req: IncomingMessage,
  onBytes: (bytes: number) => void,
) {
  if (route.style !== 'rpc') {
    const query = new URL(req.url ?? '/', 'http://emulator').searchParams.get('arg');
    const header = req.headers['dropbox-api-arg'];
    const text = typeof header === 'string' ? header : query;
    if (text === null) throw badRequest(name, 'Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".');
    const args = Args.parse(name, 'HTTP header "Dropbox-API-Arg"', text);
    refuseAstralPaths(emulator, name, args);
    return args;
  }
  const body = await readBody(req, onBytes);
  const contentType = req.headers['content-type'];
  if (body.length > 0 && !RPC_CONTENT_TYPES.includes(contentType?.toLowerCase() ?? '')) {
    const expected = RPC_CONTENT_TYPES.map((type) => `"${type}"`).join(', ');
    throw badRequest(name, `Bad HTTP "Content-Type" header: "${contentType ?? ''}".  Expecting one of ${expected}.`);
  }
  const args = Args.parse(name, 'request body', body.toString('utf8'));
  refuseAstralPaths(emulator, name, args);
  return args;
}

/** The API as it was for years (setting `refuseNonBmpPaths`): a path with an emoji in it is a 400. */
function refuseAstralPaths(emulator: Emulator, name: string, args: Args): void {
  if (!emulator.settings.refuseNonBmpPaths) return;
  const found = findPathWithAstral(args.raw);
  if (found)
    throw badRequest(
      name,
      `request body: ${found.field}: characters outside the Basic Multilingual Plane are not supported: '${found.value}'`,
    );
}

function findPathWithAstral(value: unknown, depth = 0): { field: string; value: string } | undefined {
  if (depth > 6 || typeof value !== 'object' || value === null) return undefined;
  for (const [field, inner] of Object.entries(value)) {
    if (typeof inner === 'string' && /path$/.test(field) && ASTRAL_CHARACTER.test(inner))
      return { field, value: inner };
    const nested = findPathWithAstral(inner, depth + 1);
    if (nested) return nested;
  }
  return undefined;
}

async function sendResult(req: IncomingMessage, res: ServerResponse, result: ApiResult): Promise<void> {
  if (result.kind === 'json') return sendJson(res, 200, result.body);
  const headers = { 'Dropbox-API-Result': headerSafeJson(result.apiResult) };
  if (result.kind === 'download') {
    return sendContent(req, res, result.size, result.open, { ...headers, 'Content-Type': 'application/octet-stream' });
  }
  res.writeHead(200, { ...headers, 'Content-Type': result.contentType });
  await result.write(res);
  res.end();
}

/** Namespace failures get wrapped in the route's error union; anything unexpected is a 500 (and logged). */
function sendFailure(res: ServerResponse, route: ApiRoute, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof OperationFailure) {
    const member = error.kind === 'write' ? (route.failures?.write ?? route.failures?.lookup) : route.failures?.lookup;
    if (error.kind === 'other') return sendError(res, routeError(error.reason));
    if (member) return sendError(res, routeError(u(member, error.reason)));
  }
  if (error instanceof DropboxApiError) return sendError(res, error);
  process.stderr.write(`dropbox-emulator: ${error instanceof Error ? error.stack : String(error)}\n`);
  sendText(res, 500, 'Internal Server Error');
}
