import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { crc32 } from 'node:zlib';

export interface ZipItem {
  /** Path inside the archive; folders end with "/". */
  name: string;
  modified: Date;
  /** Files only. */
  size?: number;
  open?: () => Readable;
}

/** Without ZIP64 an archive (and every offset in it) must stay below 4 GiB, with at most 65535 entries. */
export const ZIP32_MAX_BYTES = 0xffffffff;
export const ZIP32_MAX_ENTRIES = 0xffff;

const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const UNIX_FILE_MODE = 0o100644;
const UNIX_FOLDER_MODE = 0o040755;

/** The bytes a stored (uncompressed) archive of these items takes, to refuse one that won't fit before starting. */
export function zipSize(items: ZipItem[]): number {
  return items.reduce((total, item) => {
    const name = Buffer.byteLength(item.name);
    return total + 30 + name + (item.size ?? 0) + 16 + 46 + name;
  }, 22);
}

/**
 * Streams a store-only ZIP archive: file data goes straight from disk to `out` (CRC-32 computed on the way, so it
 * is written in a data descriptor after the data), honouring back-pressure; only the small central directory is
 * kept in memory.
 */
export async function writeZip(out: Writable, items: ZipItem[]): Promise<void> {
  let offset = 0;
  const central: Buffer[] = [];
  const emit = async (chunk: Buffer) => {
    offset += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  };

  for (const item of items) {
    const name = Buffer.from(item.name, 'utf8');
    const isFolder = item.name.endsWith('/');
    const size = item.size ?? 0;
    const { time, date } = dosDateTime(item.modified);
    const headerOffset = offset;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(FLAG_DATA_DESCRIPTOR | FLAG_UTF8, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(0, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    await emit(Buffer.concat([local, name]));

    let crc = 0;
    if (!isFolder && item.open) {
      for await (const chunk of item.open()) {
        crc = crc32(chunk as Buffer, crc);
        await emit(chunk as Buffer);
      }
    }

    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc, 4);
    descriptor.writeUInt32LE(size, 8);
    descriptor.writeUInt32LE(size, 12);
    await emit(descriptor);

    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE((3 << 8) | 20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(FLAG_DATA_DESCRIPTOR | FLAG_UTF8, 8);
    entry.writeUInt16LE(0, 10);
    entry.writeUInt16LE(time, 12);
    entry.writeUInt16LE(date, 14);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(size, 20);
    entry.writeUInt32LE(size, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt16LE(0, 30);
    entry.writeUInt16LE(0, 32);
    entry.writeUInt16LE(0, 34);
    entry.writeUInt16LE(0, 36);
    entry.writeUInt32LE((((isFolder ? UNIX_FOLDER_MODE : UNIX_FILE_MODE) << 16) | (isFolder ? 0x10 : 0)) >>> 0, 38);
    entry.writeUInt32LE(headerOffset, 42);
    central.push(entry, name);
  }

  const directory = Buffer.concat(central);
  const directoryOffset = offset;
  await emit(directory);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(items.length, 8);
  end.writeUInt16LE(items.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(directoryOffset, 16);
  await emit(end);
}

function dosDateTime(when: Date): { time: number; date: number } {
  const year = Math.max(1980, when.getUTCFullYear());
  return {
    time: (when.getUTCHours() << 11) | (when.getUTCMinutes() << 5) | Math.floor(when.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((when.getUTCMonth() + 1) << 5) | when.getUTCDate(),
  };
}
