import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { handleApiCall } from './api';
import { EmulatorControl } from './control';
import { Emulator } from './emulator';
import { sendText } from './http-io';
import { handleBrowse } from './routes/browse';
import { handleControl } from './routes/control';
import { handleOAuth } from './routes/oauth';
import { handleTempLink } from './routes/temp-link';

/**
 * One port for everything, so a client only has to swap hosts: `/2/<route>` for both the RPC and the content
 * API, `/oauth2/*`, temporary links under `/_tl/`, and the control API under `/_emulator/`.
 */
export function createEmulatorServer(emulator: Emulator, control: EmulatorControl): Server {
  const server = createServer((req, res) => {
    res.on('finish', () => emulator.counters.responded(res.statusCode));
    dispatch(emulator, control, req, res).catch((error: unknown) => {
      // A client that hangs up mid-body (a player or ffmpeg seeking elsewhere, a killed worker) is no server error.
      const code = (error as NodeJS.ErrnoException)?.code;
      if (
        code === 'ERR_STREAM_PREMATURE_CLOSE' ||
        code === 'ECONNRESET' ||
        (error instanceof Error && error.message === 'aborted')
      ) {
        res.destroy();
        return;
      }
      process.stderr.write(`dropbox-emulator: ${error instanceof Error ? error.stack : String(error)}\n`);
      if (res.headersSent) res.destroy();
      else sendText(res, 500, 'Internal Server Error');
    });
  });
  // Like Dropbox, keep idle connections longer than clients do (Node's agent drops them after 5 s). With equal
  // timeouts a client can reuse a socket at the moment the server closes it, and its request fails with ECONNRESET.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

async function dispatch(emulator: Emulator, control: EmulatorControl, req: IncomingMessage, res: ServerResponse) {
  const path = new URL(req.url ?? '/', 'http://emulator').pathname;
  if (path.startsWith('/2/')) return handleApiCall(emulator, path.slice(3), req, res);
  if (path.startsWith('/oauth2/')) {
    await handleOAuth(emulator, path, req, res);
    return emulator.changed();
  }
  if (path.startsWith('/_tl/')) return handleTempLink(emulator, path.split('/')[2] ?? '', req, res);
  if (path.startsWith('/scl/fo/') && req.method === 'GET') {
    req.resume();
    return handleBrowse(emulator, new URL(req.url ?? '/', 'http://emulator'), res);
  }
  if (path.startsWith('/_emulator/')) {
    await handleControl(emulator, control, path.slice('/_emulator/'.length), req, res);
    return emulator.changed();
  }
  req.resume();
  sendText(res, 404, 'Not Found');
}
