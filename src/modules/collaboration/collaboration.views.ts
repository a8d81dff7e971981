import { dropboxEmailProblem } from '../dropbox/dropbox-email';
import type { CollaboratorView } from '../files/views';
import { COLLAB_EXPIRY_LABELS, CollabDownloads, downloadsOf, ENDING_SOON_MS, formatDay } from './collab-settings';
import type { CollabFile } from './entities/collab-file.entity';
import type { CollabMember, MemberState } from './entities/collab-member.entity';
import { CollabExpiry, CollabPipeline, PIPELINE_STEPS, PipelineStep } from './entities/collab-pipeline.entity';
import { isStuck } from './pipeline-stuck';

export type PanelStatus = 'not_shared' | 'running' | 'stuck' | 'done' | 'failed';
export type StepState = 'pending' | 'running' | 'done' | 'failed';
export type MemberPanelState = MemberState | 'not_invited';

export interface CollaborationMemberView {
  collaboratorId: string;
  name: string;
  email: string | null;
  /** Set when Dropbox would refuse the address (it can't be invited until corrected). */
  emailProblem: string | null;
  state: MemberPanelState;
  stateLabel: string;
  /** Dropbox's reason, in plain words, when the invitation was refused. */
  error: string | null;
  /** Their access can be taken away (they are invited or joined). */
  canRemove: boolean;
  /** The invitation is no longer pending (accepted under another address, or declined): send it again by hand. */
  canReinvite: boolean;
}

/** open: before the end (or none) · ending: the end came, collaborators are being removed · ended: all removed. */
export type AccessState = 'open' | 'ending' | 'ended';

export interface CollaborationAccessView {
  state: AccessState;
  /** "Access ends on 8 December 2026", "Access ended 8 December 2026", or null when it never ends. */
  label: string | null;
  /** Within 3 days of the end: the panel says so (there is no email notice yet). */
  endingSoon: boolean;
  /** Why ending access failed, in plain words. */
  error: string | null;
  canExtend: boolean;
  canEndNow: boolean;
}

export interface CollaborationView {
  trackId: string;
  trackTitle: string;
  status: PanelStatus;
  statusLabel: string;
  /** The step running, or the one that failed. */
  step: PipelineStep | null;
  steps: Array<{ key: PipelineStep | 'done'; label: string; state: StepState }>;
  folder: { path: string; url: string | null } | null;
  /** `leftOut`: skipped because their category's downloads are off (counted in `skipped` too); `toCopy` = total − leftOut. */
  files: {
    total: number;
    copied: number;
    skipped: number;
    pending: number;
    leftOut: number;
    toCopy: number;
    /** Every file not copied, with its reason (left out by the settings, or gone from Dropbox). */
    skippedNotes: string[];
    /** The left-out ones alone. */
    leftOutNotes: string[];
  };
  invites: { total: number; sent: number; joined: number; pending: number; failed: number; noEmail: number };
  members: CollaborationMemberView[];
  error: { code: string; message: string } | null;
  /** A temporary problem the queue is retrying. */
  notice: string | null;
  accessLevel: 'editor' | 'viewer';
  expiry: CollabExpiry;
  expiryLabel: string;
  /** When the collaborators are removed from the folder; null = never. */
  expiresAt: string | null;
  accessEndedAt: string | null;
  access: CollaborationAccessView;
  /** Per category, as for share links: a category set to false is left out of the folder unless `includeDisabled`. */
  downloads: CollabDownloads;
  includeDisabled: boolean;
  /** Start, or once started "share with remaining" (new collaborators, newly selected files). */
  canStart: boolean;
  canRetry: boolean;
  canReset: boolean;
  canRefresh: boolean;
  startedAt: string | null;
  finishedAt: string | null;
  lastProgressAt: string | null;
  membersRefreshedAt: string | null;
}

const STEP_LABELS: Record<PipelineStep | 'done', string> = {
  folder: 'Creating folder',
  files: 'Uploading files',
  invites: 'Sending invites',
  done: 'Done',
};

const STATUS_LABELS: Record<PanelStatus, string> = {
  not_shared: 'Not shared with collaborators',
  running: 'Sharing…',
  stuck: 'Stuck: no progress for a while',
  done: 'Done',
  failed: 'Failed',
};

const MEMBER_LABELS: Record<MemberPanelState, string> = {
  queued: 'Invite being sent',
  invited: 'Invite pending',
  joined: 'Has access (joined)',
  no_email: 'No email on file: can’t be invited',
  failed: 'Failed',
  removed: 'Access ended (removed from the folder)',
  gone: 'Invite no longer pending',
  not_invited: 'Not invited yet (use Share with remaining)',
};

function stepStates(status: PanelStatus, step: PipelineStep | null): CollaborationView['steps'] {
  const current = step ? PIPELINE_STEPS.indexOf(step) : -1;
  const steps: CollaborationView['steps'] = PIPELINE_STEPS.map((key, index) => {
    let state: StepState = 'pending';
    if (status === 'done') state = 'done';
    else if (status === 'running' || status === 'stuck' || status === 'failed') {
      if (index < current) state = 'done';
      else if (index === current) state = status === 'failed' ? 'failed' : 'running';
    }
    return { key, label: STEP_LABELS[key], state };
  });
  steps.push({ key: 'done', label: STEP_LABELS.done, state: status === 'done' ? 'done' : 'pending' });
  return steps;
}

export function toCollaborationView(input: {
  track: { id: string; title: string };
  pipeline: CollabPipeline | null;
  files: CollabFile[];
  members: CollabMember[];
  onTrack: CollaboratorView[];
  stuckMs: number;
  /** The collaboration clock, for the share's end (stuck detection keeps the wall clock). */
  now?: Date;
}): CollaborationView {
  const { pipeline } = input;
  const now = new Date();
  const clockNow = input.now ?? now;
  let status: PanelStatus = pipeline?.status ?? 'not_shared';
  if (isStuck(pipeline, input.stuckMs, now)) status = 'stuck';

  const byCollaborator = new Map(input.members.map((m) => [m.collaborator.id, m]));
  const members: CollaborationMemberView[] = input.members.map((m) => ({
    collaboratorId: m.collaborator.id,
    name: m.name,
    email: m.email ?? null,
    emailProblem: m.email ? dropboxEmailProblem(m.email) : null,
    state: m.state as MemberState,
    stateLabel:
      m.state === 'gone' && m.acceptedAs ? `Accepted as ${m.acceptedAs}` : MEMBER_LABELS[m.state as MemberState],
    error: m.error ?? null,
    canRemove: m.state === 'invited' || m.state === 'joined',
    canReinvite: m.state === 'gone',
  }));
  if (status !== 'not_shared') {
    for (const c of input.onTrack) {
      if (byCollaborator.has(c.id)) continue;
      members.push({
        collaboratorId: c.id,
        name: c.name,
        email: c.email,
        emailProblem: c.emailProblem,
        state: 'not_invited',
        stateLabel: MEMBER_LABELS.not_invited,
        error: null,
        canRemove: false,
        canReinvite: false,
      });
    }
  }
  const count = (state: MemberState) => input.members.filter((m) => m.state === state).length;
  const withEmail = input.members.filter((m) => m.state !== 'no_email').length;

  const filesOf = (s: CollabFile['status']) => input.files.filter((f) => f.status === s);
  const running = status === 'running' || status === 'stuck';
  const leftOut = input.files.filter((f) => f.leftOut).length;
  const access = accessView(pipeline, status, clockNow);
  return {
    trackId: input.track.id,
    trackTitle: input.track.title,
    status,
    statusLabel: STATUS_LABELS[status],
    step: pipeline?.step ?? null,
    steps: stepStates(status, pipeline?.step ?? null),
    folder:
      pipeline?.folderPath && pipeline.sharedFolderId
        ? { path: pipeline.folderPath, url: pipeline.folderUrl ?? null }
        : null,
    files: {
      total: input.files.length,
      copied: filesOf('copied').length,
      skipped: filesOf('skipped').length,
      pending: filesOf('pending').length,
      leftOut,
      toCopy: input.files.length - leftOut,
      skippedNotes: filesOf('skipped').map((f) => f.error ?? `${f.name} was not copied`),
      leftOutNotes: input.files.filter((f) => f.leftOut).map((f) => f.error ?? `${f.name} was left out`),
    },
    invites: {
      total: withEmail,
      sent: count('invited') + count('joined'),
      joined: count('joined'),
      pending: count('invited'),
      failed: count('failed'),
      noEmail: count('no_email'),
    },
    members,
    error:
      status === 'failed' && pipeline?.errorMessage
        ? { code: pipeline.errorCode ?? 'failed', message: pipeline.errorMessage }
        : null,
    notice: running && pipeline?.errorCode === 'retrying' ? (pipeline.errorMessage ?? null) : null,
    accessLevel: pipeline?.accessLevel ?? 'editor',
    expiry: pipeline?.expiry ?? 'never',
    expiryLabel: COLLAB_EXPIRY_LABELS[(pipeline?.expiry ?? 'never') as CollabExpiry],
    expiresAt: pipeline?.expiresAt?.toISOString() ?? null,
    accessEndedAt: pipeline?.accessEndedAt?.toISOString() ?? null,
    access,
    downloads: pipeline ? downloadsOf(pipeline) : { bounce: true, project: true, stem: true },
    includeDisabled: pipeline?.includeDisabled ?? false,
    // Once the end has come nobody is invited until the share is extended.
    canStart: access.state === 'open',
    canRetry: (status === 'failed' || status === 'stuck') && access.state === 'open',
    canReset: status !== 'not_shared',
    canRefresh: Boolean(pipeline?.sharedFolderId),
    startedAt: pipeline?.startedAt?.toISOString() ?? null,
    finishedAt: pipeline?.finishedAt?.toISOString() ?? null,
    lastProgressAt: pipeline?.progressAt?.toISOString() ?? null,
    membersRefreshedAt: pipeline?.membersRefreshedAt?.toISOString() ?? null,
  };
}

function accessView(pipeline: CollabPipeline | null, status: PanelStatus, now: Date): CollaborationAccessView {
  const shared = status !== 'not_shared';
  const endsAt = pipeline?.expiresAt ?? null;
  const endedAt = pipeline?.accessEndedAt ?? null;
  const state: AccessState = endedAt ? 'ended' : endsAt && endsAt <= now ? 'ending' : 'open';
  const ending = Boolean(pipeline?.accessEndingAt) && !endedAt;
  let label: string | null = null;
  if (endedAt) label = `Access ended ${formatDay(endedAt)}`;
  else if (endsAt && state === 'ending')
    label = `Access ending (end: ${formatDay(endsAt)}): removing collaborators from the folder…`;
  else if (endsAt) label = `Access ends on ${formatDay(endsAt)}`;
  return {
    state,
    label,
    endingSoon: state === 'open' && !!endsAt && endsAt.getTime() - now.getTime() <= ENDING_SOON_MS,
    error: pipeline?.expiryError ?? null,
    canExtend: shared && !ending,
    canEndNow: shared && !endedAt && !ending,
  };
}
