import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository, UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { DbContext } from '../../database/db-context';
import { CollaboratorDto } from './dto/collaborator.dto';
import { Collaborator } from './entities/collaborator.entity';
import { TrackCollaboratorRepository } from './repositories/track-collaborator.repository';
import { TracksService } from './tracks.service';
import { CollaboratorView, toCollaboratorView } from './views';

export interface CollaboratorWithTracks extends CollaboratorView {
  trackCount: number;
}

@Injectable()
export class CollaboratorsService {
  constructor(
    @InjectRepository(Collaborator) private readonly collaborators: EntityRepository<Collaborator>,
    private readonly trackCollaborators: TrackCollaboratorRepository,
    private readonly db: DbContext,
    private readonly tracks: TracksService,
  ) {}

  private async owned(ownerId: string, id: string): Promise<Collaborator> {
    const collaborator = await this.collaborators.findOne({ id, owner: ownerId });
    if (!collaborator) throw new NotFoundException('collaborator not found');
    return collaborator;
  }

  async list(ownerId: string): Promise<CollaboratorWithTracks[]> {
    const collaborators = await this.collaborators.find({ owner: ownerId }, { orderBy: { name: 'asc' } });
    if (!collaborators.length) return [];
    const counts = await this.trackCollaborators.trackCounts(collaborators.map((c) => c.id));
    return collaborators.map((c) => ({ ...toCollaboratorView(c), trackCount: counts.get(c.id) ?? 0 }));
  }

  async create(ownerId: string, dto: CollaboratorDto): Promise<CollaboratorView> {
    const collaborator = this.collaborators.create({
      owner: ownerId,
      name: dto.name,
      email: dto.email ?? null,
      role: dto.role,
    });
    await this.flushUnique();
    return toCollaboratorView(collaborator);
  }

  /**
   * A new collaborator, put on a track, in one transaction: if the assignment is refused (someone with the same
   * email is already on the track) or fails, the new collaborator is not left behind.
   */
  async createOnTrack(ownerId: string, trackId: string, dto: CollaboratorDto): Promise<CollaboratorView> {
    return this.db.transaction(async () => {
      const created = await this.create(ownerId, dto);
      await this.assign(ownerId, trackId, created.id);
      return created;
    });
  }

  async update(ownerId: string, id: string, dto: CollaboratorDto): Promise<CollaboratorView> {
    const collaborator = await this.owned(ownerId, id);
    collaborator.name = dto.name;
    collaborator.email = dto.email ?? null;
    collaborator.role = dto.role;
    await this.flushUnique();
    return toCollaboratorView(collaborator);
  }

  async remove(ownerId: string, id: string): Promise<void> {
    const collaborator = await this.owned(ownerId, id);
    this.db.remove(collaborator);
    await this.db.flush();
  }

  async onTrack(ownerId: string, trackId: string): Promise<CollaboratorView[]> {
    const track = await this.tracks.owned(ownerId, trackId);
    const links = await this.trackCollaborators.find(
      { track },
      { populate: ['collaborator'], orderBy: { addedAt: 'asc' } },
    );
    return links.map((l) => toCollaboratorView(l.collaborator as Collaborator));
  }

  /** Puts a collaborator on a track; the same person twice (or the same email twice) is refused. */
  async assign(ownerId: string, trackId: string, collaboratorId: string): Promise<CollaboratorView[]> {
    const track = await this.tracks.owned(ownerId, trackId);
    const collaborator = await this.owned(ownerId, collaboratorId);
    const existing = await this.trackCollaborators.find({ track }, { populate: ['collaborator'] });
    if (existing.some((l) => l.collaborator.id === collaborator.id)) {
      throw new ConflictException({
        field: 'collaboratorId',
        message: `${collaborator.name} is already on this track`,
      });
    }
    if (collaborator.email && existing.some((l) => (l.collaborator as Collaborator).email === collaborator.email)) {
      throw new ConflictException({
        field: 'collaboratorId',
        message: `someone with ${collaborator.email} is already on this track`,
      });
    }
    this.trackCollaborators.create({ track, collaborator });
    await this.db.flush();
    return this.onTrack(ownerId, trackId);
  }

  async unassign(ownerId: string, trackId: string, collaboratorId: string): Promise<void> {
    const track = await this.tracks.owned(ownerId, trackId);
    const deleted = await this.trackCollaborators.nativeDelete({ track, collaborator: collaboratorId });
    if (!deleted) throw new NotFoundException('collaborator is not on this track');
  }

  private async flushUnique(): Promise<void> {
    try {
      await this.db.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        this.db.clear();
        throw new ConflictException({ field: 'email', message: 'you already have a collaborator with this email' });
      }
      throw err;
    }
  }
}
