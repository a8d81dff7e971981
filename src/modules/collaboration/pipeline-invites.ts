import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DbContext } from '../../database/db-context';
import { CollaborationStepJobData } from '../../queues/flows';
import { DropboxError, DropboxTransient } from '../dropbox/dropbox.errors';
import { DropboxAccountClient } from '../dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import type { FolderMembers } from '../dropbox/dropbox.types';
import { DROPBOX_EMAIL_RULE, dropboxEmailProblem } from '../dropbox/dropbox-email';
import { CollabMember } from './entities/collab-member.entity';
import { PipelineFence, Superseded } from './pipeline-fence';
import { CollaborationRefusal, explainRefusal, Refusal } from './refusals';
import { CollabPipelineRepository } from './repositories/collab-pipeline.repository';

/** add_folder_member calls one invitation step may make while narrowing down refusals. */
const MAX_INVITE_CALLS = 64;

interface InviteRefusal {
  id: string;
  refusal: Refusal;
}

/**
 * The address a vanished invitation was accepted under, when the folder's members tell unambiguously: the one
 * stranger with the invitee's name, or the only stranger when only one invitation vanished.
 */
function acceptedAs(row: CollabMember, vanished: CollabMember[], strangers: FolderMembers['joined']): string | null {
  const byName = strangers.filter((s) => s.displayName.trim().toLowerCase() === row.name.trim().toLowerCase());
  if (byName.length === 1) return byName[0].email;
  return vanished.length === 1 && strangers.length === 1 ? strangers[0].email : null;
}

function invalidAddress(email: string, rule: string): Refusal {
  return {
    code: 'invalid_email',
    email,
    message: `Dropbox does not accept “${email}” as an email address (${rule}). Correct it under Collaborators, then press Retry.`,
  };
}

/**
 * The pipeline's invitations and the folder's members: who is invited, who joined, who left. Writes go through
 * the pipeline's fence, like every step's.
 */
@Injectable()
export class PipelineInvites {
  constructor(
    private readonly db: DbContext,
    private readonly pipelines: CollabPipelineRepository,
    @InjectRepository(CollabMember) private readonly members: EntityRepository<CollabMember>,
    private readonly dropbox: DropboxConnectionsService,
    private readonly fence: PipelineFence,
  ) {}

  /** Step 3: invites everyone queued who is neither joined nor invited, narrowing refusals down to the culprits. */
  async invitesStep(ref: CollaborationStepJobData, client: DropboxAccountClient): Promise<void> {
    const pipeline = await this.fence.current(ref);
    const folderId = pipeline.sharedFolderId!;
    const queued = await this.db.run(() => this.members.find({ pipeline: ref.pipelineId, state: 'queued' }));
    if (queued.length === 0) return;
    const members = await client.listFolderMembers(folderId);
    await this.applyMembers(ref, members);

    const toInvite = (
      await this.db.run(() =>
        this.members.find({ pipeline: ref.pipelineId, state: 'queued' }, { orderBy: { name: 'asc', id: 'asc' } }),
      )
    ).filter((m) => m.email);
    const refused: InviteRefusal[] = [];
    // An address outside Dropbox's pattern makes the whole call a 400 that invites nobody: set those aside first.
    const sendable = toInvite.filter((m) => {
      const problem = dropboxEmailProblem(m.email!);
      if (problem) refused.push({ id: m.id, refusal: invalidAddress(m.email!, problem) });
      return !problem;
    });
    await this.invite(ref, client, folderId, pipeline.accessLevel, sendable, refused, { calls: MAX_INVITE_CALLS });
    if (refused.length) {
      await this.fence.fenced(ref, async () => {
        for (const r of refused)
          await this.members.nativeUpdate(
            { id: r.id },
            { state: 'failed', error: r.refusal.message, updatedAt: new Date() },
          );
      });
      throw new CollaborationRefusal(refused[0].refusal);
    }
  }

  /**
   * Invites a group in one call. Dropbox fails the whole call for one bad recipient, so a refusal is narrowed down:
   * a named address is set aside and the rest invited again; a 400 (an address Dropbox's pattern refuses) or
   * `too_many_invitees` splits the group in halves until the culprit is alone or the halves fit.
   */
  private async invite(
    ref: CollaborationStepJobData,
    client: DropboxAccountClient,
    folderId: string,
    accessLevel: 'editor' | 'viewer',
    group: CollabMember[],
    refused: InviteRefusal[],
    budget: { calls: number },
  ): Promise<void> {
    if (group.length === 0) return;
    if (budget.calls-- <= 0)
      throw new DropboxTransient('Dropbox kept refusing parts of the invitation', ['invite_rounds']);
    try {
      await client.addFolderMembers(
        folderId,
        group.map((m) => m.email!),
        accessLevel,
      );
    } catch (err) {
      if (!(err instanceof DropboxError) || err.retryable) throw err;
      // A 400 (an address Dropbox's pattern refuses), too many at once, or a team policy against someone outside the
      // team: the call names nobody, so halves narrow it down.
      const splittable =
        err.tags.includes('bad_request') ||
        err.tags.includes('too_many_invitees') ||
        err.tags.includes('cant_share_outside_team');
      if (splittable && group.length > 1) {
        const half = Math.ceil(group.length / 2);
        await this.invite(ref, client, folderId, accessLevel, group.slice(0, half), refused, budget);
        await this.invite(ref, client, folderId, accessLevel, group.slice(half), refused, budget);
        return;
      }
      if (splittable && group.length === 1) {
        const refusal = err.tags.includes('bad_request')
          ? invalidAddress(group[0].email!, DROPBOX_EMAIL_RULE)
          : { ...explainRefusal(err), email: group[0].email! };
        refused.push({ id: group[0].id, refusal });
        return;
      }
      const refusal = explainRefusal(err);
      const culprit = refusal.email ? group.find((m) => m.email === refusal.email!.toLowerCase()) : undefined;
      if (culprit) {
        refused.push({ id: culprit.id, refusal });
        await this.invite(
          ref,
          client,
          folderId,
          accessLevel,
          group.filter((m) => m !== culprit),
          refused,
          budget,
        );
        return;
      }
      for (const m of group) refused.push({ id: m.id, refusal });
      return;
    }
    await this.fence.fenced(ref, async (p) => {
      await this.members.nativeUpdate(
        { id: { $in: group.map((m) => m.id) } },
        { state: 'invited', error: null, updatedAt: new Date() },
      );
      p.progressAt = new Date();
    });
  }

  /**
   * Re-reads a shared folder's members (on demand and from the scheduled sweep). A run starting meanwhile wins:
   * its own listing is newer.
   */
  async refreshMembers(pipelineId: string, ownerId: string): Promise<void> {
    const pipeline = await this.db.run(() => this.pipelines.findOne({ id: pipelineId }));
    if (!pipeline?.sharedFolderId) return;
    const ref = { pipelineId, generation: pipeline.generation, run: pipeline.run };
    const client = await this.dropbox.clientFor(ownerId);
    const listedAt = new Date();
    const members = await client.listFolderMembers(pipeline.sharedFolderId);
    try {
      await this.applyMembers(ref, members, listedAt);
    } catch (err) {
      if (!(err instanceof Superseded)) throw err;
    }
  }

  /**
   * Member states from a listing: joined, invite pending; queued people already there are not invited again.
   * Rows changed after `listedAt` (an invitation sent while the listing was on its way) are left alone.
   */
  async applyMembers(ref: CollaborationStepJobData, members: FolderMembers, listedAt = new Date()): Promise<void> {
    const joined = new Set(members.joined.map((m) => m.email));
    const invited = new Set(members.invited.map((m) => m.email));
    await this.fence.fenced(ref, async (p) => {
      // While access is being ended the expiry job owns the member rows: someone it just removed must become
      // "removed", not "queued" (which would read as "never got in" if the job is resumed).
      if (p.accessEndingAt || p.accessEndedAt) return;
      const rows = await this.members.find({
        pipeline: p.id,
        state: { $in: ['queued', 'invited', 'joined', 'gone'] },
      });
      const known = new Set((await this.members.find({ pipeline: p.id }, { fields: ['email'] })).map((r) => r.email));
      // People in the folder under an address we never invited: someone accepted an invitation signed in elsewhere.
      const strangers = members.joined.filter((m) => !known.has(m.email));
      const vanished: CollabMember[] = [];
      for (const row of rows) {
        if (!row.email || row.updatedAt > listedAt) continue;
        let next: CollabMember['state'] = joined.has(row.email)
          ? 'joined'
          : invited.has(row.email)
            ? 'invited'
            : row.state;
        if (next === row.state && !joined.has(row.email) && !invited.has(row.email)) {
          // An invitation that left the pending list without its address joining is never re-sent by itself. Someone
          // who had joined and left (or was removed in Dropbox) goes back to queued: "share with remaining" asks again.
          if (row.state === 'invited') next = 'gone';
          else if (row.state === 'joined') next = 'queued';
        }
        if (next === 'gone' && row.state === 'invited') vanished.push(row);
        if (next !== row.state) {
          row.state = next;
          row.error = null;
          if (next !== 'gone') row.acceptedAs = null;
          row.updatedAt = new Date();
        }
      }
      for (const row of vanished) row.acceptedAs = acceptedAs(row, vanished, strangers);
      p.membersRefreshedAt = new Date();
    });
  }
}
