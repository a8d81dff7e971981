import { collabExpiresAt, formatDay, leftOutReason, settingsFrom } from './collab-settings';
import { toCollaborationView } from './collaboration.views';
import { CollabPipeline } from './entities/collab-pipeline.entity';

const DAY = 24 * 3600_000;

describe('collaborator share settings', () => {
  it('ends after 7, 30 or 90 days, or never (NULL, whatever the clock)', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    expect(collabExpiresAt('7d', now)?.toISOString()).toBe('2026-12-08T10:00:00.000Z');
    expect(collabExpiresAt('30d', now)?.toISOString()).toBe('2026-12-31T10:00:00.000Z');
    expect(collabExpiresAt('90d', now)?.toISOString()).toBe('2027-03-01T10:00:00.000Z');
    expect(collabExpiresAt('never', now)).toBeNull();
    expect(formatDay(new Date('2026-12-08T23:59:00Z'))).toBe('8 December 2026');
  });

  it('defaults to what a folder member could always do: never ends, every category in', () => {
    expect(settingsFrom({})).toEqual({
      expiry: 'never',
      downloads: { bounce: true, project: true, stem: true },
      includeDisabled: false,
    });
    expect(settingsFrom({ expiry: '7d', downloads: { stem: false }, disabledDownloads: 'include' })).toEqual({
      expiry: '7d',
      downloads: { bounce: true, project: true, stem: false },
      includeDisabled: true,
    });
  });

  it('leaves a file out only when its category is off and the producer did not choose to put such files in', () => {
    const off = { bounce: true, project: true, stem: false };
    expect(leftOutReason({ name: 'kick.wav', category: 'stem' }, off, false)).toMatch(
      /^kick\.wav was left out: downloads of stems are off/,
    );
    expect(leftOutReason({ name: 'kick.wav', category: 'stem' }, off, true)).toBeNull();
    expect(leftOutReason({ name: 'mix.wav', category: 'bounce' }, off, false)).toBeNull();
  });

  describe('the panel’s access line', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    const view = (changes: Partial<CollabPipeline>) => {
      const pipeline = Object.assign(new CollabPipeline(), { status: 'done' }, changes);
      return toCollaborationView({
        track: { id: 't', title: 'T' },
        pipeline,
        files: [],
        members: [],
        onTrack: [],
        stuckMs: 60_000,
        now,
      }).access;
    };

    it('says when access ends, warns in the last 3 days, and when it ended', () => {
      expect(view({ expiresAt: null })).toMatchObject({
        state: 'open',
        label: null,
        endingSoon: false,
        canEndNow: true,
      });
      expect(view({ expiresAt: new Date(now.getTime() + 7 * DAY) })).toMatchObject({
        label: 'Access ends on 8 December 2026',
        endingSoon: false,
      });
      expect(view({ expiresAt: new Date(now.getTime() + 2 * DAY) })).toMatchObject({ state: 'open', endingSoon: true });
      expect(view({ expiresAt: new Date(now.getTime() - 60_000), accessEndingAt: now })).toMatchObject({
        state: 'ending',
        canExtend: false,
        canEndNow: false,
      });
      expect(
        view({ expiresAt: new Date(now.getTime() - DAY), accessEndedAt: new Date(now.getTime() - DAY) }),
      ).toMatchObject({
        state: 'ended',
        label: 'Access ended 30 November 2026',
        canExtend: true,
        canEndNow: false,
      });
    });
  });
});
