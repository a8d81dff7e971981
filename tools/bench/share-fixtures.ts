import type { EntityManager } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DropboxAccountClient } from '../../src/modules/dropbox/dropbox.gateway';
import type { Track } from '../../src/modules/files/entities/track.entity';
import { TrackFile } from '../../src/modules/files/entities/track-file.entity';

/**
 * A bench track's files: a master bounce, a stem and a project put in Dropbox under `folder`, and recorded as
 * imported with their audio facts (as the library would after import and analysis). Returns the share selection
 * (`f:<id>` for each file).
 */
export async function benchTrackFiles(
  em: EntityManager,
  client: DropboxAccountClient,
  track: Track,
  folder: string,
  audio: { bounce: Buffer; stem: Buffer; seconds: number; projectBytes: number },
): Promise<string[]> {
  const put = (path: string, bytes: Buffer) =>
    client.upload(`${folder}/${path}`, { size: bytes.length, open: () => Readable.from([bytes]) });
  const files = [
    {
      entry: await put('Bounces/Master.wav', audio.bounce),
      category: 'bounce' as const,
      isMaster: true,
      durationSeconds: audio.seconds,
    },
    {
      entry: await put('Stems/Drums.wav', audio.stem),
      category: 'stem' as const,
      isMaster: false,
      durationSeconds: audio.seconds,
    },
    {
      entry: await put('Projects/Session.als', randomBytes(audio.projectBytes)),
      category: 'project' as const,
      isMaster: false,
      durationSeconds: null,
    },
  ];
  const rows = files.map((f) =>
    em.create(TrackFile, {
      track,
      category: f.category,
      name: f.entry.name,
      dropboxId: f.entry.id,
      dropboxPath: f.entry.pathDisplay,
      rev: f.entry.rev,
      size: f.entry.size ?? 0,
      contentHash: f.entry.contentHash,
      isMaster: f.isMaster,
      durationSeconds: f.durationSeconds,
      codec: f.durationSeconds ? 'PCM' : null,
    }),
  );
  await em.flush();
  return rows.map((r) => `f:${r.id}`);
}
