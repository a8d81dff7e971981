import type { files } from 'dropbox';
import { Args } from '../args';
import { OperationFailure, Union, badRequest, routeError, u } from '../errors';
import { changeMetadata, fileMetadata, folderMetadata, taggedMetadata } from '../metadata';
import { Entry, FileRevision } from '../namespace';
import { nameOf, parsePath } from '../paths';
import { assertSpace } from '../quota';
import { assertServable } from '../serving';
import { copyEntryFailure } from '../faults';
import { ZIP32_MAX_BYTES, ZIP32_MAX_ENTRIES, ZipItem, writeZip, zipSize } from '../zip-writer';
import { ApiCall, ApiRoute, decodeCursor, encodeCursor, json } from './route';

const METADATA_READ = 'files.metadata.read';
const CONTENT_READ = 'files.content.read';
const CONTENT_WRITE = 'files.content.write';

/** list_folder returns at most this many entries a page unless `limit` asks for fewer. */
const MAX_LIST_LIMIT = 2000;
/** Dropbox refuses to zip folders with more files than this. */
const MAX_ZIP_FILES = 10_000;

/** What a list_folder cursor remembers. */
interface ListCursor {
  account: string;
  scope: string;
  recursive: boolean;
  limit: number;
  /** Journal position: changes after it are reported by list_folder/continue. */
  seq: number;
  /** While paging through the initial listing: the last path returned. */
  after?: string;
  generation: number;
  epoch: string;
}

export const fileRoutes: Record<string, ApiRoute> = {
  'files/create_folder_v2': {
    style: 'rpc',
    scope: CONTENT_WRITE,
    write: true,
    failures: { lookup: 'path', write: 'path' },
    handle({ route, args, namespace }) {
      const ref = parsePath(route, 'path', args.string('path'), { failure: 'write' });
      if (ref.kind !== 'path') throw badRequest(route, 'request body: path: must be a path');
      const folder = namespace.createFolder(ref.display, args.boolean('autorename', false));
      return json({ metadata: folderMetadata(namespace, folder) } satisfies files.CreateFolderResult);
    },
  },

  'files/get_metadata': {
    style: 'rpc',
    scope: METADATA_READ,
    failures: { lookup: 'path' },
    handle({ route, args, namespace }) {
      const entry = namespace.lookup(parsePath(route, 'path', args.string('path'), { allowId: true }));
      return json(taggedMetadata(namespace, entry));
    },
  },

  'files/list_folder': {
    style: 'rpc',
    scope: METADATA_READ,
    failures: { lookup: 'path' },
    handle(call) {
      const { route, args, namespace } = call;
      const scope = namespace.listingScope(
        parsePath(route, 'path', args.string('path'), { allowRoot: true, allowId: true }),
      );
      const limit = args.integer('limit', MAX_LIST_LIMIT);
      if (limit < 1 || limit > MAX_LIST_LIMIT) throw args.fail(`limit: ${limit} is not within [1, ${MAX_LIST_LIMIT}]`);
      const cursor: ListCursor = {
        account: call.account.account_id,
        scope,
        recursive: args.boolean('recursive', false),
        limit,
        seq: namespace.latestSeq,
        after: '',
        generation: namespace.cursorGeneration,
        epoch: call.emulator.epoch,
      };
      return json(listPage(call, cursor));
    },
  },

  'files/list_folder/continue': {
    style: 'rpc',
    scope: METADATA_READ,
    failures: { lookup: 'path' },
    handle(call) {
      const cursor = decodeCursor<ListCursor>(call.args.string('cursor'));
      if (!cursor || cursor.account !== call.account.account_id) throw call.args.fail('cursor: invalid cursor');
      const stale = cursor.epoch !== call.emulator.epoch || cursor.generation !== call.namespace.cursorGeneration;
      if (stale) throw routeError(u('reset'));
      if (cursor.scope !== '' && call.namespace.byPathLower(cursor.scope)?.tag !== 'folder') {
        throw new OperationFailure('lookup', u('not_found'));
      }
      return json(listPage(call, cursor));
    },
  },

  'files/delete_v2': {
    style: 'rpc',
    scope: CONTENT_WRITE,
    write: true,
    failures: { lookup: 'path_lookup', write: 'path_write' },
    handle({ route, args, namespace, emulator }) {
      const entry = namespace.lookup(parsePath(route, 'path', args.string('path'), { allowId: true }));
      const metadata = taggedMetadata(namespace, entry);
      for (const removed of namespace.delete(entry)) {
        if (removed.tag === 'folder' && removed.sharedFolderId) {
          emulator.state.sharedFolders.remove(removed.sharedFolderId);
        }
      }
      return json({ metadata } satisfies files.DeleteResult);
    },
  },

  'files/move_v2': {
    style: 'rpc',
    scope: CONTENT_WRITE,
    write: true,
    failures: { lookup: 'from_lookup', write: 'to' },
    handle({ route, args, namespace }) {
      const entry = namespace.lookup(parsePath(route, 'from_path', args.string('from_path'), { allowId: true }));
      const to = parsePath(route, 'to_path', args.string('to_path'), { failure: 'write' });
      if (to.kind !== 'path') throw badRequest(route, 'request body: to_path: must be a path');
      const moved = namespace.move(entry, to.display, args.boolean('autorename', false));
      return json({ metadata: taggedMetadata(namespace, moved) } satisfies files.RelocationResult);
    },
  },

  'files/list_revisions': {
    style: 'rpc',
    scope: METADATA_READ,
    failures: { lookup: 'path' },
    handle({ route, args, namespace }) {
      args.tagOf('mode', ['path', 'id'], 'path');
      const limit = args.integer('limit', 10);
      if (limit < 1 || limit > 100) throw args.fail(`limit: ${limit} is not within [1, 100]`);
      const file = namespace.lookupFile(parsePath(route, 'path', args.string('path'), { allowId: true }));
      const revisions = namespace.revisionsOf(file);
      const entries = revisions
        .slice(0, limit)
        .map((revision): files.FileMetadata => ({ ...fileMetadata(namespace, file), ...revisionFields(revision) }));
      return json({
        is_deleted: false,
        entries,
        has_more: revisions.length > limit,
      } satisfies files.ListRevisionsResult);
    },
  },

  'files/restore': {
    style: 'rpc',
    scope: CONTENT_WRITE,
    write: true,
    failures: { lookup: 'path_lookup', write: 'path_write' },
    handle({ route, args, namespace, account }) {
      const rev = args.string('rev');
      if (!/^[0-9a-f]{9,}$/.test(rev)) throw badRequest(route, 'request body: rev: does not look like a revision');
      const file = namespace.lookupFile(parsePath(route, 'path', args.string('path'), { allowId: true }));
      const restored = namespace.restore(file, rev, account.account_id);
      return json(fileMetadata(namespace, restored) satisfies files.FileMetadata);
    },
  },

  'files/copy_batch_v2': {
    style: 'rpc',
    scope: CONTENT_WRITE,
    write: true,
    handle(call) {
      const { args, emulator } = call;
      const entries = args.list('entries', { min: 1, max: 1000 });
      const autorename = args.boolean('autorename', false);
      const result: files.RelocationBatchV2JobStatusComplete = {
        '.tag': 'complete',
        entries: entries.map((entry) => copyEntry(call, entry, autorename)),
      };
      if (entries.length <= emulator.settings.asyncBatchThreshold) return json(result);
      return json(
        emulator.state.jobs.launch(call.account.account_id, 'copy_batch', emulator.settings.asyncPolls, result),
      );
    },
  },

  'files/copy_batch/check_v2': {
    style: 'rpc',
    scope: CONTENT_WRITE,
    handle({ args, account, emulator }) {
      return json(emulator.state.jobs.poll(account.account_id, 'copy_batch', args.string('async_job_id')));
    },
  },

  'files/get_temporary_link': {
    style: 'rpc',
    scope: CONTENT_READ,
    failures: { lookup: 'path' },
    handle({ route, args, namespace, emulator, account }) {
      const file = namespace.lookupFile(parsePath(route, 'path', args.string('path'), { allowId: true }));
      // Dropbox hands out no links for an account whose email is not verified.
      if (account.emailVerified === false) throw routeError(u('email_not_verified'));
      assertServable(file);
      const name = nameOf(file.pathDisplay);
      const link = emulator.state.tempLinks.create({
        blob: file.blob,
        size: file.size,
        name,
        rev: file.rev,
        expiresAt: Date.now() + emulator.settings.tempLinkLifetimeMs,
      });
      return json({
        metadata: fileMetadata(namespace, file),
        link: `${emulator.publicUrl}/_tl/${link.token}/${encodeURIComponent(name)}`,
      } satisfies files.GetTemporaryLinkResult);
    },
  },

  'files/download': {
    style: 'download',
    scope: CONTENT_READ,
    failures: { lookup: 'path' },
    handle({ route, args, namespace, emulator }) {
      const file = namespace.lookupFile(parsePath(route, 'path', args.string('path'), { allowId: true }));
      assertServable(file);
      return {
        kind: 'download',
        apiResult: fileMetadata(namespace, file),
        size: file.size,
        open: (range) => emulator.blobs.read(file.blob, range),
      };
    },
  },

  'files/download_zip': {
    style: 'download',
    scope: CONTENT_READ,
    failures: { lookup: 'path' },
    handle({ route, args, namespace, emulator }) {
      const folder = namespace.lookupFolder(parsePath(route, 'path', args.string('path'), { allowId: true }));
      const root = folder.pathDisplay.slice(0, folder.pathDisplay.length - nameOf(folder.pathDisplay).length);
      const items = namespace.subtree(folder).map((entry): ZipItem => {
        const name = entry.pathDisplay.slice(root.length);
        if (entry.tag === 'folder') return { name: `${name}/`, modified: new Date() };
        return {
          name,
          modified: new Date(entry.clientModified),
          size: entry.size,
          open: () => emulator.blobs.read(entry.blob),
        };
      });
      const fileCount = items.filter((item) => item.open).length;
      if (fileCount > MAX_ZIP_FILES || items.length > ZIP32_MAX_ENTRIES) throw routeError(u('too_many_files'));
      if (zipSize(items) > ZIP32_MAX_BYTES) throw routeError(u('too_large'));
      return {
        kind: 'stream',
        apiResult: { metadata: folderMetadata(namespace, folder) } satisfies files.DownloadZipResult,
        contentType: 'application/zip',
        write: (out) => writeZip(out, items),
      };
    },
  },
};

/** One page of a listing: the rest of the initial listing, then the changes since it. */
function listPage(call: ApiCall, cursor: ListCursor): files.ListFolderResult {
  const { namespace } = call;
  let entries: files.ListFolderResult['entries'];
  let hasMore: boolean;
  if (cursor.after !== undefined) {
    const after = cursor.after;
    const remaining = namespace.list(cursor.scope, cursor.recursive).filter((entry) => entry.pathLower > after);
    const page = remaining.slice(0, cursor.limit);
    entries = page.map((entry: Entry) => taggedMetadata(namespace, entry));
    hasMore = remaining.length > page.length;
    cursor = { ...cursor, after: hasMore ? page[page.length - 1].pathLower : undefined };
  } else {
    const changes = namespace.changesSince(cursor.seq, cursor.scope, cursor.recursive);
    const page = changes.slice(0, cursor.limit);
    entries = page.map((change) => changeMetadata(namespace, change));
    hasMore = changes.length > page.length;
    cursor = { ...cursor, seq: hasMore ? page[page.length - 1].seq : namespace.latestSeq };
  }
  return { entries, cursor: encodeCursor(cursor), has_more: hasMore };
}

function copyEntry(call: ApiCall, entry: Args, autorename: boolean): files.RelocationBatchResultEntry {
  const { route, namespace } = call;
  const injected = call.emulator.copyEntryFaults.take(call.account.account_id);
  if (injected)
    return { '.tag': 'failure', failure: copyEntryFailure(injected) as unknown as files.RelocationBatchErrorEntry };
  try {
    const source = namespace.lookup(parsePath(route, 'from_path', entry.string('from_path'), { allowId: true }));
    const to = parsePath(route, 'to_path', entry.string('to_path'), { failure: 'write' });
    if (to.kind !== 'path') throw badRequest(route, 'request body: to_path: must be a path');
    const bytes = namespace.subtree(source).reduce((sum, item) => sum + (item.tag === 'file' ? item.size : 0), 0);
    assertSpace(call.account, namespace, bytes, 0, 'insufficient_quota');
    const copy = namespace.copy(source, to.display, autorename, call.account.account_id);
    return { '.tag': 'success', success: taggedMetadata(namespace, copy) };
  } catch (error) {
    if (!(error instanceof OperationFailure)) throw error;
    return { '.tag': 'failure', failure: { '.tag': 'relocation_error', relocation_error: relocationError(error) } };
  }
}

/** A namespace failure as a RelocationError: `from_lookup`, `to` or the relocation-specific tag. */
function relocationError(failure: OperationFailure): files.RelocationError {
  const error: Union =
    failure.kind === 'lookup'
      ? u('from_lookup', failure.reason)
      : failure.kind === 'write'
        ? u('to', failure.reason)
        : failure.reason;
  return error as unknown as files.RelocationError;
}

/** The fields of file metadata that belong to one revision. */
function revisionFields(
  revision: FileRevision,
): Pick<files.FileMetadata, 'rev' | 'size' | 'content_hash' | 'server_modified' | 'client_modified'> {
  return {
    rev: revision.rev,
    size: revision.size,
    content_hash: revision.contentHash,
    server_modified: revision.serverModified,
    client_modified: revision.clientModified,
  };
}
