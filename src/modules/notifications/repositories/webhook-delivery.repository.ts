import { EntityRepository } from '@mikro-orm/postgresql';
import type { WebhookDelivery } from '../entities/webhook-delivery.entity';

export class WebhookDeliveryRepository extends EntityRepository<WebhookDelivery> {
  /** Keeps the webhook's `keep` newest entries of the delivery log and deletes the rest. */
  async trimLog(webhookId: string, keep: number): Promise<void> {
    await this.em.getConnection().execute(
      `delete from "webhook_deliveries" where "webhook_id" = ? and "id" not in (
         select "id" from "webhook_deliveries" where "webhook_id" = ? order by "at" desc, "attempt" desc limit ${Math.trunc(keep)})`,
      [webhookId, webhookId],
    );
  }
}
