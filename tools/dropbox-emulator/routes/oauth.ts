import { IncomingMessage, ServerResponse } from 'node:http';
import { Emulator } from '../emulator';
import { readBody, sendJson } from '../http-io';
import { ALL_SCOPES, verifierMatches } from '../tokens';

type Params = Record<string, string>;

/**
 * OAuth 2 code flow with PKCE: `GET /oauth2/authorize` shows a consent page, its form posts back to
 * `/oauth2/authorize` and redirects to the app with a code (or `access_denied`); `POST /oauth2/token` exchanges
 * codes and refresh tokens. Error answers follow Dropbox's: 400 `{"error": …, "error_description": …}`.
 */
export async function handleOAuth(emulator: Emulator, path: string, req: IncomingMessage, res: ServerResponse) {
  const query = Object.fromEntries(new URL(req.url ?? '/', 'http://emulator').searchParams);
  if (path === '/oauth2/authorize' && req.method === 'GET') return authorizePage(emulator, query, res);
  if (path === '/oauth2/authorize' && req.method === 'POST') {
    return authorizeDecision(emulator, { ...query, ...(await readParams(emulator, req)) }, res);
  }
  if (path === '/oauth2/token' && req.method === 'POST') {
    return token(emulator, { ...query, ...(await readParams(emulator, req)), ...basicCredentials(req) }, res);
  }
  sendHtml(res, 404, page('Not found', '<p>Unknown OAuth endpoint.</p>'));
}

function authorizePage(emulator: Emulator, params: Params, res: ServerResponse): void {
  const problem = authorizeProblem(emulator, params);
  if (problem) return sendHtml(res, 400, page('Invalid request', `<p>${escapeHtml(problem)}</p>`));
  const email = params.login_hint ?? emulator.state.allAccounts()[0]?.email ?? '';
  const hidden = Object.entries(params)
    .filter(([name]) => name !== 'email' && name !== 'decision')
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n      ');
  sendHtml(
    res,
    200,
    page(
      'Dropbox emulator — authorize app',
      `<p>The app <strong>${escapeHtml(params.client_id)}</strong> would like to access your Dropbox.</p>
    <form method="post" action="/oauth2/authorize">
      ${hidden}
      <label>Email <input type="email" name="email" value="${escapeHtml(email)}" required></label>
      <button type="submit" name="decision" value="allow">Allow</button>
      <button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
    </form>`,
    ),
  );
}

function authorizeDecision(emulator: Emulator, params: Params, res: ServerResponse): void {
  const problem = authorizeProblem(emulator, params);
  if (problem) return sendHtml(res, 400, page('Invalid request', `<p>${escapeHtml(problem)}</p>`));
  if (params.decision !== 'allow') {
    return redirect(res, params.redirect_uri, {
      error: 'access_denied',
      error_description: 'The user chose not to give your app access to their Dropbox account.',
      state: params.state,
    });
  }
  if (!params.email) return sendHtml(res, 400, page('Invalid request', '<p>An email is required.</p>'));
  const account = emulator.state.registerAccount({ email: params.email });
  const code = emulator.state.tokens.createCode({
    accountId: account.account_id,
    clientId: params.client_id,
    redirectUri: params.redirect_uri,
    codeChallenge: params.code_challenge,
    codeChallengeMethod: params.code_challenge_method,
    scope: params.scope ? params.scope.split(' ').filter(Boolean) : ALL_SCOPES,
    offline: params.token_access_type === 'offline',
  });
  redirect(res, params.redirect_uri, { code, state: params.state });
}

function authorizeProblem(emulator: Emulator, params: Params): string | undefined {
  if (params.response_type !== 'code') return 'response_type must be "code".';
  if (!params.client_id) return 'Missing client_id.';
  if (emulator.options.appKey && params.client_id !== emulator.options.appKey) return 'Invalid client_id.';
  if (!params.redirect_uri) return 'Missing redirect_uri.';
  if (!URL.canParse(params.redirect_uri)) return 'redirect_uri must be an absolute URL.';
  const method = params.code_challenge_method;
  if (params.code_challenge && method && method !== 'S256' && method !== 'plain') {
    return 'code_challenge_method must be "S256" or "plain".';
  }
  return undefined;
}

function token(emulator: Emulator, params: Params, res: ServerResponse): void {
  const { tokens } = emulator.state;
  const fail = (error: string, description: string) => sendJson(res, 400, { error, error_description: description });
  const secret = emulator.options.appSecret;
  if (params.client_secret !== undefined && secret !== undefined && params.client_secret !== secret) {
    return fail('invalid_client', 'Invalid client_id or client_secret');
  }

  if (params.grant_type === 'authorization_code') {
    const code = params.code ? tokens.redeemCode(params.code) : undefined;
    if (!code) return fail('invalid_grant', "code doesn't exist or has expired");
    if (params.client_id !== code.clientId) return fail('invalid_grant', 'client_id mismatch');
    if (code.redirectUri !== undefined && params.redirect_uri !== code.redirectUri) {
      return fail('invalid_grant', 'redirect_uri mismatch');
    }
    if (code.codeChallenge) {
      if (params.code_verifier !== undefined) {
        if (!verifierMatches(params.code_verifier, code.codeChallenge, code.codeChallengeMethod)) {
          return fail('invalid_grant', 'invalid code verifier');
        }
      } else if (params.client_secret === undefined) {
        return fail('invalid_request', 'No auth function available for given request');
      }
    } else if (secret !== undefined && params.client_secret === undefined) {
      return fail('invalid_request', 'No auth function available for given request');
    }
    const account = emulator.state.account(code.accountId)!;
    const issued = tokens.issue(code.accountId, code.scope, code.clientId);
    return sendJson(res, 200, {
      access_token: issued.access_token,
      token_type: 'bearer',
      expires_in: issued.expires_in,
      ...(code.offline && { refresh_token: issued.refresh_token }),
      scope: issued.scope,
      uid: account.uid,
      account_id: account.account_id,
    });
  }

  if (params.grant_type === 'refresh_token') {
    if (!params.refresh_token) return fail('invalid_request', 'No refresh_token given');
    const access = tokens.refresh(params.refresh_token, params.client_id);
    if (!access) return fail('invalid_grant', 'refresh token is invalid or revoked');
    // Dropbox's refresh answer has no refresh token, uid or account id.
    return sendJson(res, 200, {
      access_token: access.token,
      token_type: 'bearer',
      expires_in: Math.round((access.expiresAt - Date.now()) / 1000),
    });
  }

  fail('unsupported_grant_type', `grant_type "${params.grant_type ?? ''}" is not supported`);
}

/** Form-encoded or JSON bodies (the SDK sends its parameters in the query string, with a JSON content type). */
async function readParams(emulator: Emulator, req: IncomingMessage): Promise<Params> {
  const text = (await readBody(req, (bytes) => emulator.counters.received(bytes))).toString('utf8');
  if (text.trim() === '') return {};
  if (req.headers['content-type']?.includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) {
        return Object.fromEntries(Object.entries(parsed).map(([name, value]) => [name, String(value)]));
      }
    } catch {
      return {};
    }
    return {};
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** Client credentials may come as HTTP Basic auth instead of parameters. */
function basicCredentials(req: IncomingMessage): Params {
  const match = req.headers.authorization?.match(/^Basic (.+)$/);
  if (!match) return {};
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? {} : { client_id: decoded.slice(0, colon), client_secret: decoded.slice(colon + 1) };
}

function redirect(res: ServerResponse, target: string, params: Record<string, string | undefined>): void {
  const url = new URL(target);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  res.writeHead(302, { Location: url.toString() });
  res.end();
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html) });
  res.end(html);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
  <body>
    <h1>${escapeHtml(title)}</h1>
    ${body}
  </body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
