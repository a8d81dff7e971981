import { IncomingMessage, ServerResponse } from 'node:http';
import { ControlError, EmulatorControl, RegisterAccountInput, SetQuotaInput } from '../control';
import { FaultSpec } from '../faults';
import { Emulator } from '../emulator';
import { readBody, sendJson } from '../http-io';

type Body = Record<string, unknown>;
type ControlHandler = (body: Body, params: string[]) => unknown;

/**
 * The control API for tests and the demo: JSON in, JSON out, under `/_emulator/`. Each route maps onto one
 * `EmulatorControl` method.
 */
export function controlRoutes(control: EmulatorControl): Array<[string, RegExp, ControlHandler]> {
  return [
    ['GET', /^health$/, () => ({ ok: true })],
    ['GET', /^accounts$/, () => control.accounts()],
    ['POST', /^accounts$/, (body) => control.registerAccount(body as unknown as RegisterAccountInput)],
    ['PUT', /^accounts\/email-verified$/, (body) => control.setEmailVerified(body as never)],
    ['PUT', /^accounts\/quota$/, (body) => control.setQuota(body as unknown as SetQuotaInput)],
    ['POST', /^accounts\/space$/, (body) => control.space(body)],
    ['GET', /^namespaces\/locks$/, () => control.namespaceLocks()],
    ['POST', /^namespaces\/locks$/, (body) => control.holdNamespaceLock(body)],
    ['DELETE', /^namespaces\/locks\/([^/]+)$/, (_body, [id]) => ({ released: control.releaseNamespaceLock(id) })],
    ['PUT', /^folders\/mounted$/, (body) => control.setFolderMounted(body as never)],
    ['PUT', /^files\/serving$/, (body) => control.setFileServing(body as never)],
    ['POST', /^tokens$/, (body) => control.issueToken(body)],
    ['POST', /^tokens\/expire$/, (body) => control.expireTokens(body)],
    ['POST', /^tokens\/revoke$/, (body) => control.revokeTokens(body)],
    ['POST', /^faults\/copy-entries$/, (body) => control.failCopyEntries(body as never)],
    ['POST', /^jobs\/expire$/, (body) => control.expireJobs(body)],
    ['GET', /^faults$/, () => control.faults()],
    ['POST', /^faults$/, (body) => control.addFault(body as unknown as FaultSpec)],
    ['DELETE', /^faults$/, () => control.clearFaults()],
    ['DELETE', /^faults\/([^/]+)$/, (_body, [id]) => ({ removed: control.removeFault(id) })],
    ['POST', /^faults\/([^/]+)\/release$/, (_body, [id]) => ({ released: control.releaseFault(id) })],
    ['GET', /^settings$/, () => control.settings()],
    ['PUT', /^settings$/, (body) => control.updateSettings(body)],
    ['POST', /^invites\/accept$/, (body) => ({ accepted: control.acceptInvites(body) })],
    ['POST', /^cursors\/invalidate$/, (body) => control.invalidateCursors(body)],
    ['GET', /^counters$/, () => control.counters()],
    ['POST', /^counters\/reset$/, () => control.resetCounters()],
    ['GET', /^calls$/, () => control.callLog()],
    ['POST', /^reset$/, () => control.reset()],
  ];
}

export async function handleControl(
  emulator: Emulator,
  control: EmulatorControl,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const onBytes = (bytes: number) => emulator.counters.received(bytes);
  if (path === 'sink' && req.method === 'PUT') {
    // The benchmark baseline: the same streaming-to-disk path an upload takes, without any API logic.
    const received = await emulator.blobs.sink(req);
    onBytes(received.bytes);
    return sendJson(res, 200, { bytes: received.bytes, content_hash: received.contentHash });
  }
  for (const [method, pattern, handler] of controlRoutes(control)) {
    const match = path.match(pattern);
    if (!match || method !== req.method) continue;
    const text = (await readBody(req, onBytes)).toString('utf8');
    let body: unknown = {};
    try {
      if (text.trim() !== '') body = JSON.parse(text);
    } catch {
      return sendJson(res, 400, { error: 'body is not JSON' });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return sendJson(res, 400, { error: 'body must be a JSON object' });
    }
    try {
      return sendJson(res, 200, handler(body as Body, match.slice(1)) ?? { ok: true });
    } catch (error) {
      if (error instanceof ControlError) return sendJson(res, error.status, { error: error.message });
      throw error;
    }
  }
  sendJson(res, 404, { error: `unknown control route ${req.method} /_emulator/${path}` });
}
