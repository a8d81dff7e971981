import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { NestFactory } from '@nestjs/core';
import type { Dropbox } from 'dropbox';
import { AppModule } from '../../src/app.module';
import type { AppConfig } from '../../src/config/app-config';
import { User } from '../../src/modules/accounts/entities/user.entity';
import { DropboxConnectionsService } from '../../src/modules/dropbox/dropbox-connections.service';
import { DropboxConnection } from '../../src/modules/dropbox/entities/dropbox-connection.entity';
import { CollaboratorsService } from '../../src/modules/files/collaborators.service';
import { Track } from '../../src/modules/files/entities/track.entity';
import { LibraryService } from '../../src/modules/files/library.service';
import { TracksService } from '../../src/modules/files/tracks.service';
import type { SharingStatus } from '../../src/modules/files/file-categories';
import { connectionGrant, emulatorDropboxClient, type RunningDropboxEmulator } from '../dropbox-emulator';
import { makeMp3, makeWav } from '../fixtures/audio';

export const DEMO_DROPBOX_EMAIL = 'studio@dropbox.demo';

interface DemoTrack {
  title: string;
  artist: string;
  bpm: number;
  key: string;
  status: SharingStatus;
  /** Root note of the generated music, Hz. */
  root: number;
  /** Files put in Dropbox; `imported: false` ones stay "not imported" to show that part of the library. */
  files: Array<{ path: string; make: () => Promise<Buffer> | Buffer; imported: boolean }>;
}

const chord = (root: number) => [root, root * 1.26, root * 1.5];

function demoTracks(): DemoTrack[] {
  const track = (
    title: string,
    artist: string,
    bpm: number,
    key: string,
    status: SharingStatus,
    root: number,
  ): DemoTrack => ({
    title,
    artist,
    bpm,
    key,
    status,
    root,
    files: [
      {
        path: `Bounces/${title} (Master).wav`,
        make: () => makeWav({ seconds: 24, frequencies: chord(root), amplitude: 0.3 }),
        imported: true,
      },
      {
        path: `Bounces/${title} (Preview).mp3`,
        make: () => makeMp3({ seconds: 24, frequencies: chord(root), amplitude: 0.3, kbps: 160 }),
        imported: true,
      },
      {
        path: `Stems/Bass.wav`,
        make: () => makeWav({ seconds: 24, frequencies: [root / 2], amplitude: 0.4 }),
        imported: true,
      },
      {
        path: `Stems/Pad.wav`,
        make: () => makeWav({ seconds: 24, frequencies: chord(root * 2), amplitude: 0.2 }),
        imported: true,
      },
      { path: `Stems/Noise FX.wav`, make: () => makeWav({ seconds: 8, amplitude: 0.1 }), imported: false },
      {
        path: `Projects/${title}.als`,
        make: () => Buffer.from(`<?xml version="1.0"?><Ableton><LiveSet Tempo="${bpm}"/></Ableton>\n`),
        imported: true,
      },
      {
        path: `Projects/${title}.logicx/Resources/ProjectInformation`,
        make: () => Buffer.from('demo logic project'),
        imported: false,
      },
      {
        path: `Projects/${title}.logicx/Alternatives/000/ProjectData`,
        make: () => Buffer.alloc(64 * 1024, 7),
        imported: false,
      },
    ],
  });
  return [
    track('Midnight Drive', 'Ana Ortega', 124, 'F# minor', 'collaborative', 185),
    track('Aurora', 'Ana Ortega feat. Kai', 96, 'D major', 'preview', 147),
    track('Paper Boats', 'The Harbour', 140, 'A minor', 'private', 220),
  ];
}

/**
 * First run only: connects the demo producer to a Dropbox account in the emulator and fills it with a small studio
 * (three tracks of generated audio, stems, projects, a Logic package, collaborators). Later runs find the data and
 * leave it alone.
 */
export async function seedDemoStudio(
  config: AppConfig,
  emulator: RunningDropboxEmulator,
  producerEmail: string,
  say: (message: string) => void,
): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule.register({ config, workers: false }), {
    logger: false,
  });
  try {
    const orm = app.get(MikroORM);
    await RequestContext.create(orm.em, async () => {
      const em = orm.em;
      const producer = await em.findOneOrFail(User, { email: producerEmail });
      if (!(await em.findOne(DropboxConnection, { user: producer }))) {
        await connect(app.get(DropboxConnectionsService), emulator, producer);
        say(`Dropbox (emulator) connected as ${DEMO_DROPBOX_EMAIL}`);
      }
      if ((await em.count(Track, { owner: producer })) > 0) return;

      say('seeding the demo studio (generated audio)…');
      const dbx = emulatorDropboxClient(
        emulator.url,
        emulator.control.issueToken({ email: DEMO_DROPBOX_EMAIL }).access_token,
      );
      const tracks = app.get(TracksService);
      const library = app.get(LibraryService);
      const collaborators = app.get(CollaboratorsService);
      const people = [
        await collaborators.create(producer.id, {
          name: 'Sam Rivera',
          email: 'sam@mixhouse.demo',
          role: 'mix engineer',
        }),
        await collaborators.create(producer.id, { name: 'Kai Moreno', email: 'kai@voices.demo', role: 'vocalist' }),
        await collaborators.create(producer.id, { name: 'Lee Park', email: null, role: 'co-producer' }),
      ];
      for (const [index, spec] of demoTracks().entries()) {
        const view = await tracks.create(producer.id, {
          title: spec.title,
          artist: spec.artist,
          bpm: spec.bpm,
          key: spec.key,
          sharingStatus: spec.status,
        });
        await upload(dbx, view.dropboxFolderPath!, spec);
        const found = await library.library(producer.id, view.id);
        const wanted = new Set(spec.files.filter((f) => f.imported).map((f) => f.path.toLowerCase()));
        await library.importFiles(
          producer.id,
          view.id,
          found.items.filter((i) => wanted.has(i.relativePath.toLowerCase())).map((i) => i.dropboxId),
        );
        const master = (await library.library(producer.id, view.id)).items.find((i) => i.name.endsWith('(Master).wav'));
        if (master?.id) await library.setMaster(producer.id, view.id, master.id);
        for (const person of people.slice(0, index === 2 ? 1 : 3))
          await collaborators.assign(producer.id, view.id, person.id);
        say(`  ${spec.title}: ${spec.files.length} files`);
      }
    });
  } finally {
    await app.close();
  }
}

async function connect(connections: DropboxConnectionsService, emulator: RunningDropboxEmulator, producer: User) {
  const account =
    emulator.control.accounts().find((a) => a.email === DEMO_DROPBOX_EMAIL) ??
    emulator.control.registerAccount({ email: DEMO_DROPBOX_EMAIL, display_name: 'Demo Studio' });
  const issued = emulator.control.issueToken({ account_id: account.account_id });
  await connections.store(producer.id, connectionGrant(account, issued));
}

async function upload(dbx: Dropbox, folder: string, spec: DemoTrack): Promise<void> {
  for (const file of spec.files) {
    await dbx.filesUpload({
      path: `${folder}/${file.path}`,
      contents: await file.make(),
      mode: { '.tag': 'overwrite' },
    });
  }
}
