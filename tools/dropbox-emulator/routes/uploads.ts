import type { files } from 'dropbox';
import { Args } from '../args';
import { DropboxApiError, OperationFailure, Union, routeError, u } from '../errors';
import { dropboxTimestamp } from '../ids';
import { fileMetadata } from '../metadata';
import { CommitOptions, CommitOutcome, StoredContent } from '../namespace';
import { PathRef, parsePath } from '../paths';
import { assertSpaceForCommit } from '../quota';
import { UploadSessionRecord } from '../upload-sessions';
import { ApiCall, ApiRoute, json } from './route';

const CONTENT_WRITE = 'files.content.write';

/** Dropbox accepts at most 150 MiB of data per upload or append request. */
export const MAX_UPLOAD_REQUEST_BYTES = 150 * 1024 * 1024;

interface Commit {
  /** The target, or why it can't be one: a malformed path fails the commit, after the bytes have arrived. */
  ref: PathRef | OperationFailure;
  options: CommitOptions;
}

export const uploadRoutes: Record<string, ApiRoute> = {
  'files/upload': {
    style: 'upload',
    scope: CONTENT_WRITE,
    write: true,
    async handle(call) {
      const { emulator, namespace, args } = call;
      const commit = readCommit(call, args);
      const expectedHash = args.optionalString('content_hash');
      const stored = await emulator.blobs.write(call.req, MAX_UPLOAD_REQUEST_BYTES);
      emulator.counters.received(stored.size);
      if (stored.tooLarge) throw routeError(u('payload_too_large'));
      if (expectedHash !== undefined && expectedHash !== stored.contentHash) {
        await emulator.blobs.remove(stored.blob);
        throw routeError(u('content_hash_mismatch'));
      }
      try {
        const outcome = commitTo(call, commit, stored);
        if (!outcome.written) await emulator.blobs.remove(stored.blob);
        return json(fileMetadata(namespace, outcome.entry) satisfies files.FileMetadata);
      } catch (error) {
        if (!(error instanceof OperationFailure)) throw error;
        // As on Dropbox, the bytes stay available in an upload session that upload_session/finish can commit.
        const session = await sessionFromBlob(call, stored.blob, stored.size);
        throw routeError({ '.tag': 'path', reason: error.reason, upload_session_id: session.id });
      }
    },
  },

  'files/upload_session/start': {
    style: 'upload',
    scope: CONTENT_WRITE,
    async handle(call) {
      const { emulator, args, account } = call;
      const close = args.boolean('close', false);
      if (args.union('session_type', 'sequential')['.tag'] !== 'sequential') {
        throw args.fail('session_type: only sequential upload sessions are emulated');
      }
      const expectedHash = args.optionalString('content_hash');
      const sessions = emulator.state.uploadSessions;
      const session = sessions.create(account.account_id, emulator.blobs.newSessionFile());
      const hasher = sessions.hasher(session.id);
      const received = await emulator.blobs.append(call.req, session.file, 0, hasher, MAX_UPLOAD_REQUEST_BYTES);
      emulator.counters.received(received.bytes);
      const failure = received.tooLarge
        ? 'payload_too_large'
        : expectedHash !== undefined && expectedHash !== received.contentHash
          ? 'content_hash_mismatch'
          : undefined;
      if (failure) {
        sessions.remove(session.id);
        await emulator.blobs.removeSessionFile(session.file);
        throw routeError(u(failure));
      }
      session.offset = received.bytes;
      session.closed = close;
      return json({ session_id: session.id } satisfies files.UploadSessionStartResult);
    },
  },

  'files/upload_session/append_v2': {
    style: 'upload',
    scope: CONTENT_WRITE,
    async handle(call) {
      const session = sessionAt(call, call.args.object('cursor'), (error) => error, { open: true });
      await appendBody(call, session, call.args.optionalString('content_hash'), (error) => error);
      if (call.args.boolean('close', false)) session.closed = true;
      return json(null);
    },
  },

  'files/upload_session/finish': {
    style: 'upload',
    scope: CONTENT_WRITE,
    write: true,
    async handle(call) {
      const lookupFailed = (error: Union) => u('lookup_failed', error);
      const session = sessionAt(call, call.args.object('cursor'), lookupFailed);
      const commit = readCommit(call, call.args.object('commit'));
      await appendBody(call, session, call.args.optionalString('content_hash'), lookupFailed);
      try {
        return json((await finishSession(call, session, commit)) satisfies files.FileMetadata);
      } catch (error) {
        if (error instanceof OperationFailure) throw routeError(u('path', error.reason));
        throw error;
      }
    },
  },

  'files/upload_session/finish_batch_v2': {
    style: 'rpc',
    scope: CONTENT_WRITE,
    write: true,
    async handle(call) {
      const entries = call.args.list('entries', { max: 1000 });
      const commits = entries.map((entry) => ({ entry, commit: readCommit(call, entry.object('commit')) }));
      const results: files.UploadSessionFinishBatchResultEntry[] = [];
      for (const { entry, commit } of commits) results.push(await finishBatchEntry(call, entry, commit));
      return json({ entries: results } satisfies files.UploadSessionFinishBatchResult);
    },
  },
};

async function finishBatchEntry(
  call: ApiCall,
  entry: Args,
  commit: Commit,
): Promise<files.UploadSessionFinishBatchResultEntry> {
  try {
    const session = sessionAt(call, entry.object('cursor'), (error) => u('lookup_failed', error), { closed: true });
    return { '.tag': 'success', ...(await finishSession(call, session, commit)) };
  } catch (error) {
    const failure =
      error instanceof OperationFailure
        ? u('path', error.reason)
        : error instanceof DropboxApiError && error.status === 409
          ? (error.body as { error: Union }).error
          : undefined;
    if (!failure) throw error;
    return { '.tag': 'failure', failure: failure as unknown as files.UploadSessionFinishError };
  }
}

/** The commit half of CommitInfo: target path and write-mode options. */
function readCommit(call: ApiCall, commit: Args): Commit {
  const mode = commit.union('mode', 'add');
  const modeTag = commit.tagOf('mode', ['add', 'overwrite', 'update'], 'add') as CommitOptions['mode'];
  if (modeTag === 'update' && typeof mode.update !== 'string') {
    throw commit.fail("mode: missing required field 'update'");
  }
  const clientModified = commit.optionalString('client_modified');
  const path = commit.string('path');
  let ref: Commit['ref'];
  try {
    ref = parsePath(call.route, 'path', path, { allowId: true, failure: 'write' });
  } catch (error) {
    if (!(error instanceof OperationFailure)) throw error;
    ref = error;
  }
  return {
    ref,
    options: {
      mode: modeTag,
      rev: modeTag === 'update' ? (mode.update as string) : undefined,
      autorename: commit.boolean('autorename', false),
      strictConflict: commit.boolean('strict_conflict', false),
      clientModified: clientModified && dropboxTimestamp(new Date(clientModified)),
      modifiedBy: call.account.account_id,
    },
  };
}

/** The session a cursor names, checked for existence, state and offset (errors wrapped by `wrap`). */
function sessionAt(
  call: ApiCall,
  cursor: Args,
  wrap: (error: Union) => Union,
  require: { open?: boolean; closed?: boolean } = {},
): UploadSessionRecord {
  const session = call.emulator.state.uploadSessions.get(call.account.account_id, cursor.string('session_id'));
  if (!session) throw routeError(wrap(u('not_found')));
  if (require.open && session.closed) throw routeError(wrap(u('closed')));
  if (require.closed && !session.closed) throw routeError(wrap(u('not_closed')));
  const offset = cursor.integer('offset');
  if (offset !== session.offset) throw routeError(wrap({ '.tag': 'incorrect_offset', correct_offset: session.offset }));
  return session;
}

/** Appends the request body to a session; a closed session accepts no more bytes. */
async function appendBody(
  call: ApiCall,
  session: UploadSessionRecord,
  expectedHash: string | undefined,
  wrap: (error: Union) => Union,
): Promise<void> {
  const { emulator } = call;
  const sessions = emulator.state.uploadSessions;
  if (!sessions.tryLock(session.id)) {
    throw routeError(wrap({ '.tag': 'incorrect_offset', correct_offset: session.offset }));
  }
  try {
    const received = await emulator.blobs
      .append(call.req, session.file, session.offset, sessions.hasher(session.id), MAX_UPLOAD_REQUEST_BYTES)
      .catch((error: unknown) => {
        sessions.forgetHasher(session.id);
        throw error;
      });
    emulator.counters.received(received.bytes);
    const refusal = received.tooLarge
      ? u('payload_too_large')
      : received.bytes > 0 && session.closed
        ? wrap(u('closed'))
        : expectedHash !== undefined && expectedHash !== received.contentHash
          ? u('content_hash_mismatch')
          : undefined;
    if (refusal) {
      if (received.bytes > 0) {
        sessions.forgetHasher(session.id);
        await emulator.blobs.truncateSessionFile(session.file, session.offset);
      }
      throw routeError(refusal);
    }
    session.offset += received.bytes;
  } finally {
    sessions.unlock(session.id);
  }
}

/**
 * Commits a session's bytes. The session file becomes the blob first (a rename) and goes back to the session if
 * the commit fails, so the client can retry the finish with another path or mode.
 */
async function finishSession(call: ApiCall, session: UploadSessionRecord, commit: Commit): Promise<files.FileMetadata> {
  const { emulator, namespace } = call;
  const sessions = emulator.state.uploadSessions;
  const hasher = sessions.hasher(session.id);
  sessions.forgetHasher(session.id);
  const contentHash = hasher ? hasher.digest() : await emulator.blobs.hashSessionFile(session.file);
  const blob = await emulator.blobs.adoptSessionFile(session.file);
  try {
    const outcome = commitTo(call, commit, { blob, size: session.offset, contentHash });
    sessions.remove(session.id);
    if (!outcome.written) await emulator.blobs.remove(blob);
    return fileMetadata(namespace, outcome.entry);
  } catch (error) {
    await emulator.blobs.restoreSessionFile(blob, session.file);
    throw error;
  }
}

function commitTo(call: ApiCall, commit: Commit, content: StoredContent): CommitOutcome {
  if (commit.ref instanceof OperationFailure) throw commit.ref;
  assertSpaceForCommit(call.account, call.namespace, commit.ref, content);
  return call.namespace.commitFile(commit.ref, content, commit.options);
}

/** Parks an uploaded blob in a fresh, open upload session (files/upload's `upload_session_id`). */
async function sessionFromBlob(call: ApiCall, blob: string, size: number): Promise<UploadSessionRecord> {
  const { emulator } = call;
  const session = emulator.state.uploadSessions.create(call.account.account_id, emulator.blobs.newSessionFile());
  emulator.state.uploadSessions.forgetHasher(session.id);
  await emulator.blobs.restoreSessionFile(blob, session.file);
  session.offset = size;
  return session;
}
