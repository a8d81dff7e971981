import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { LibraryService } from '../../../src/modules/files/library.service';
import { TracksService } from '../../../src/modules/files/tracks.service';
import { emulatorDropboxClient } from '../../dropbox-emulator/sdk-client';
import { BenchContext, median, round, runConcurrently, say, Scenario, ScenarioResult } from '../harness';

const FILES = 2000;
/** Dropbox's largest list_folder page (the gateway asks for it). */
const PAGE_LIMIT = 2000;
/** Commits per upload_session/finish_batch_v2 call (Dropbox's maximum). */
const BATCH = 1000;
const SESSION_STARTERS = 32;
const WARM_RUNS = 5;
const LIST_ROUTE = 'files/list_folder';
const CONTINUE_ROUTE = 'files/list_folder/continue';

/** Where file i goes: a realistic mix of bounces, stems and projects, named as producers name them. */
function pathOf(folder: string, i: number): string {
  const n = String(i + 1).padStart(4, '0');
  if (i % 10 < 3) return `${folder}/Bounces/Mix v${n}.wav`;
  if (i % 10 < 9) return `${folder}/Stems/Stem ${n}.wav`;
  return `${folder}/Projects/Session ${n}.als`;
}

interface Pass {
  ms: number;
  items: number;
  calls: Record<string, number>;
}

/**
 * A track whose Dropbox folder holds 2,000 files, listed by `LibraryService.library()` — the track page's
 * listing (one recursive listing, merged with the imported rows). Reports the time and every Dropbox call it
 * made, against the fewest calls pagination allows: one list_folder page per 2,000 entries.
 */
export const libraryListingScenario: Scenario = {
  name: 'library',
  description: `listing a track library of ${FILES.toLocaleString('en-US')} files in Dropbox: time and Dropbox calls`,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const [producer, emulator, app] = await Promise.all([ctx.producer(), ctx.emulator(), ctx.app()]);
    const orm = app.get(MikroORM);
    const inContext = <T>(work: () => Promise<T>) => RequestContext.create(orm.em, work);
    const library = app.get(LibraryService);

    const track = await inContext(() =>
      app.get(TracksService).create(producer.userId, { title: `Library bench ${Date.now()}` }),
    );
    const folder = track.dropboxFolderPath!;

    // The files go in the fast way a sync client would: one closed upload session each (no namespace lock, so in
    // parallel), then two finish_batch_v2 commits of 1,000.
    say(`library: putting ${FILES} files into ${folder}…`);
    const setupStarted = performance.now();
    const dbx = emulatorDropboxClient(emulator.url, (await emulator.issueToken(producer.accountId)).access_token);
    const sessions: string[] = new Array(FILES);
    await runConcurrently(FILES, SESSION_STARTERS, async (i) => {
      const contents = Buffer.from(`file ${i + 1} of the library bench\n`);
      sessions[i] = (await dbx.filesUploadSessionStart({ close: true, contents })).result.session_id;
    });
    for (let from = 0; from < FILES; from += BATCH) {
      const entries = sessions.slice(from, from + BATCH).map((session_id, k) => ({
        cursor: { session_id, offset: Buffer.byteLength(`file ${from + k + 1} of the library bench\n`) },
        commit: { path: pathOf(folder, from + k), mode: { '.tag': 'add' as const }, autorename: false },
      }));
      const result = (await dbx.filesUploadSessionFinishBatchV2({ entries })).result;
      const failed = result.entries.filter((e) => e['.tag'] !== 'success');
      if (failed.length)
        throw new Error(`finish_batch_v2: ${failed.length} commits failed: ${JSON.stringify(failed[0]).slice(0, 300)}`);
    }
    const setupMs = performance.now() - setupStarted;

    // What one recursive listing of the folder returns (files and folders), for the minimum number of pages.
    let entries = 0;
    let page = (await dbx.filesListFolder({ path: folder, recursive: true, limit: PAGE_LIMIT })).result;
    for (;;) {
      entries += page.entries.length;
      if (!page.has_more) break;
      page = (await dbx.filesListFolderContinue({ cursor: page.cursor })).result;
    }
    const minimumCalls = Math.ceil(entries / PAGE_LIMIT);
    say(
      `library: ${FILES} files in ${round(setupMs / 1000, 1)} s; a recursive listing holds ${entries} entries → at least ${minimumCalls} call(s)`,
    );

    const pass = async (label: string): Promise<Pass> => {
      await emulator.resetCounters();
      const started = performance.now();
      const result = await inContext(() => library.library(producer.userId, track.id));
      const ms = performance.now() - started;
      const calls = (await emulator.counters()).callsByRoute;
      const total = Object.values(calls).reduce((a, b) => a + b, 0);
      say(
        `library: ${label}: ${round(ms)} ms, ${result.items.length} items, ${total} Dropbox call(s) ${JSON.stringify(calls)}`,
      );
      return { ms: round(ms), items: result.items.length, calls };
    };
    const totalCalls = (p: Pass) => Object.values(p.calls).reduce((a, b) => a + b, 0);

    const cold = await pass('first listing (nothing imported)');
    const warm: Pass[] = [];
    for (let i = 0; i < WARM_RUNS; i += 1) warm.push(await pass(`listing ${i + 2}`));

    // The same folder once every file is imported: the listing is merged with 2,000 rows (and refreshes them).
    const notImported = (await inContext(() => library.library(producer.userId, track.id))).items.map(
      (item) => item.dropboxId,
    );
    await inContext(() => library.importFiles(producer.userId, track.id, notImported));
    const imported: Pass[] = [];
    for (let i = 0; i < WARM_RUNS; i += 1) imported.push(await pass(`all imported, listing ${i + 1}`));

    const calls = (routeCalls: Record<string, number>, route: string) => routeCalls[route] ?? 0;
    return {
      figures: [
        {
          key: 'library.items',
          label: 'items listed (files found in the folder)',
          value: cold.items,
          target: { op: '==', value: FILES },
        },
        {
          key: 'library.cold_ms',
          label: 'first library() call, nothing imported',
          value: cold.ms,
          unit: 'ms',
        },
        {
          key: 'library.warm_ms',
          label: `library() median of ${WARM_RUNS} more calls, nothing imported`,
          value: round(median(warm.map((p) => p.ms))),
          unit: 'ms',
        },
        {
          key: 'library.imported_ms',
          label: `library() median of ${WARM_RUNS} calls, all ${FILES} imported`,
          value: round(median(imported.map((p) => p.ms))),
          unit: 'ms',
        },
        {
          key: 'library.dropbox_calls',
          label: 'Dropbox calls per listing',
          value: totalCalls(cold),
          unit: 'calls',
          target: { op: '==', value: minimumCalls },
          note: `${calls(cold.calls, LIST_ROUTE)} list_folder + ${calls(cold.calls, CONTINUE_ROUTE)} continue; minimum ceil(${entries} entries / ${PAGE_LIMIT}) = ${minimumCalls}`,
        },
        {
          key: 'library.dropbox_calls_imported',
          label: 'Dropbox calls per listing, all imported',
          value: Math.max(...imported.map(totalCalls)),
          unit: 'calls',
          target: { op: '==', value: minimumCalls },
        },
      ],
      details: {
        files: FILES,
        listingEntries: entries,
        pageLimit: PAGE_LIMIT,
        minimumCalls,
        setupMs: round(setupMs),
        cold,
        warm,
        imported,
      },
    };
  },
};
