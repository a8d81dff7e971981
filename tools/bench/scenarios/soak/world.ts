import { EntityManager, MikroORM, RequestContext } from '@mikro-orm/postgresql';
import type { INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { User } from '../../../../src/modules/accounts/entities/user.entity';
import { Track } from '../../../../src/modules/files/entities/track.entity';
import { TrackFile } from '../../../../src/modules/files/entities/track-file.entity';
import { MediaPreview } from '../../../../src/modules/media/entities/media-preview.entity';
import { SharesService } from '../../../../src/modules/share/shares.service';
import { makeWav } from '../../../fixtures/audio';
import type { Producer } from '../../harness';
import { say } from '../../harness';
import { benchTrackFiles } from '../../share-fixtures';
import type { SoakApi } from './api';

/** The share the callers visit: its page, and the plays and downloads it lists. */
export interface SoakShare {
  path: string;
  plays: string[];
  downloads: string[];
  downloadAll: string;
}

/** What the soak's traffic needs in place before it starts. */
export interface SoakWorld {
  share: SoakShare;
  /** The track the uploads go to. */
  uploadTrackId: string;
  /** Tracks with two collaborators each, and the stems a pipeline of each shares. */
  pipelineTracks: Array<{ id: string; selection: string[] }>;
}

export async function soakWorld(
  app: INestApplicationContext,
  base: string,
  producer: Producer,
  api: SoakApi,
  sizes: { tracks: number; pipelines: number },
): Promise<SoakWorld> {
  const bounce = makeWav({ seconds: 2, sampleRate: 22_050, channels: 1, frequencies: [220] });
  const stem = makeWav({ seconds: 2, sampleRate: 22_050, channels: 1, frequencies: [110] });
  const share = await sharedTracks(app, base, producer, sizes.tracks, { bounce, stem });
  // An upload target, and tracks with two collaborators each for the pipelines (created through the API: they get
  // their Dropbox folders; their stems are put in Dropbox directly).
  const uploadTrack = await api.json('POST', '/api/v1/tracks', { title: `Soak uploads ${Date.now()}` });
  if (uploadTrack.status !== 201)
    throw new Error(`upload track: ${uploadTrack.status} ${JSON.stringify(uploadTrack.body)}`);
  const uploadTrackId = (uploadTrack.body as { id: string }).id;
  say(`soak: ${sizes.pipelines} tracks with collaborators for pipelines…`);
  const pipelineTracks = await tracksWithCollaborators(producer, api, sizes.pipelines, stem);
  return { share, uploadTrackId, pipelineTracks };
}

/** Tracks with a master bounce (downloadable), a stem (listen only: relayed) and a project, in one share. */
async function sharedTracks(
  app: INestApplicationContext,
  base: string,
  producer: Producer,
  tracks: number,
  wavs: { bounce: Buffer; stem: Buffer },
): Promise<SoakShare> {
  say(`soak: ${tracks} shared tracks in Dropbox…`);
  const em = app.get(EntityManager).fork();
  const folder = `/Bench/soak-${Date.now()}`;
  const audio = { ...wavs, seconds: 2, projectBytes: 16 * 1024 };
  const selection: Array<{ trackId: string; files: string[] }> = [];
  for (let i = 0; i < tracks; i += 1) {
    const n = String(i + 1).padStart(2, '0');
    const track = em.create(Track, {
      owner: em.getReference(User, producer.userId),
      title: `Soak ${n}`,
      sharingStatus: 'preview',
    });
    const files = await benchTrackFiles(em, producer.client, track, `${folder}/Soak ${n}`, audio);
    selection.push({ trackId: track.id, files });
  }
  const share = await RequestContext.create(app.get(MikroORM).em, () =>
    app.get(SharesService).create(producer.userId, {
      tracks: selection,
      title: 'Soak',
      expiry: 'never',
      downloads: { bounce: true, project: true, stem: false },
    }),
  );
  // Listeners hear previews: let the workers build them before traffic starts (a play meanwhile answers 503).
  const audioIds = (
    await em
      .fork()
      .find(TrackFile, { track: { $in: selection.map((s) => s.trackId) }, category: { $in: ['bounce', 'stem'] } })
  ).map((f) => f.id);
  for (
    let waited = 0;
    (await em.fork().count(MediaPreview, { file: { $in: audioIds }, status: 'ready' })) < audioIds.length;
    waited += 1
  ) {
    if (waited > 600) throw new Error('the previews of the soak share were not built within 5 minutes');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const html = await (await fetch(`${base}${share.path}`)).text();
  const plays = [...html.matchAll(/<audio[^>]* src="([^"]+\/play)"/g)].map((m) => m[1]);
  const downloads = [...new Set([...html.matchAll(/href="([^"]+\/download)"/g)].map((m) => m[1]))];
  if (plays.length === 0 || downloads.length === 0)
    throw new Error(`the share page lists ${plays.length} plays and ${downloads.length} downloads`);
  // Which plays are redirected (downloadable bounces) and which relayed (listen-only stems) is the server's call: classify by answer.
  return { path: share.path, plays, downloads, downloadAll: `${share.path}/download-all` };
}

async function tracksWithCollaborators(
  producer: Producer,
  api: SoakApi,
  count: number,
  stem: Buffer,
): Promise<Array<{ id: string; selection: string[] }>> {
  const tracks: Array<{ id: string; selection: string[] }> = [];
  for (let i = 0; i < count; i += 1) {
    const created = await api.json('POST', '/api/v1/tracks', {
      title: `Soak band ${i + 1} ${randomBytes(2).toString('hex')}`,
    });
    if (created.status !== 201) throw new Error(`pipeline track: ${created.status}`);
    const { id, dropboxFolderPath } = created.body as { id: string; dropboxFolderPath: string };
    const ids: string[] = [];
    for (const name of ['Bass.wav', 'Keys.wav']) {
      const entry = await producer.client.upload(`${dropboxFolderPath}/Stems/${name}`, {
        size: stem.length,
        open: () => Readable.from([stem]),
      });
      ids.push(`d:${entry.id}`);
    }
    for (let c = 0; c < 2; c += 1) {
      const made = await api.json('POST', '/api/v1/collaborators', {
        name: `Soak collaborator ${i + 1}.${c + 1} ${randomBytes(2).toString('hex')}`,
        email: `soak-${randomBytes(4).toString('hex')}@example.com`,
        role: 'musician',
      });
      if (made.status !== 201) throw new Error(`collaborator: ${made.status} ${JSON.stringify(made.body)}`);
      await api.json('POST', `/api/v1/tracks/${id}/collaborators`, {
        collaboratorId: (made.body as { id: string }).id,
      });
    }
    tracks.push({ id, selection: ids });
  }
  return tracks;
}
