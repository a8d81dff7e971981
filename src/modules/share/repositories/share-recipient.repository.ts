import { EntityRepository } from '@mikro-orm/postgresql';
import type { ShareRecipient } from '../entities/share-recipient.entity';
import type { ShareCounts } from '../share-stats.service';
import { counterUpdate } from './counters';

export class ShareRecipientRepository extends EntityRepository<ShareRecipient> {
  /** Adds pending counts to the recipient link's counters; returns its share, name and new view count (none: gone). */
  async addCounters(
    recipientId: string,
    c: ShareCounts,
  ): Promise<{ share: string; name: string; views: number | string } | undefined> {
    const rows = (await this.createQueryBuilder()
      .update(counterUpdate(c))
      .where({ id: recipientId })
      .returning(['share', 'name', 'views'])
      .execute('all')) as Array<{ share: string; name: string; views: number | string }>;
    return rows[0];
  }
}
