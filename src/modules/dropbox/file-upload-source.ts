import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { UploadSource } from './dropbox.types';

/** A file on disk as an upload source: positional reads into the gateway's chunk buffer, and a stream fallback. */
export function fileUploadSource(path: string, size: number): UploadSource {
  let handle: Promise<FileHandle> | undefined;
  return {
    size,
    open: (offset) => createReadStream(path, { start: offset }),
    read: async (buffer, position) => {
      handle ??= open(path, 'r');
      const { bytesRead } = await (await handle).read(buffer, 0, buffer.length, position);
      return bytesRead;
    },
    close: async () => {
      if (handle) await (await handle).close();
      handle = undefined;
    },
  };
}
