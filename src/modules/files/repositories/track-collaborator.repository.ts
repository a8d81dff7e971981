import { EntityRepository } from '@mikro-orm/postgresql';
import { TrackCollaborator } from '../entities/track-collaborator.entity';

export class TrackCollaboratorRepository extends EntityRepository<TrackCollaborator> {
  /** How many tracks each of these collaborators is on (one on none is not in the map). */
  async trackCounts(collaboratorIds: string[]): Promise<Map<string, number>> {
    const rows = await this.em
      .getConnection()
      .execute<Array<{ collaborator_id: string; n: number }>>(
        'select collaborator_id, count(*)::int as n from track_collaborators where collaborator_id in (?) group by collaborator_id',
        [collaboratorIds],
      );
    return new Map(rows.map((r) => [r.collaborator_id, r.n]));
  }
}
