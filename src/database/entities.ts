import { ApiToken } from '../modules/accounts/entities/api-token.entity';
import { User } from '../modules/accounts/entities/user.entity';
import { DropboxConnection } from '../modules/dropbox/entities/dropbox-connection.entity';
import { Collaborator } from '../modules/files/entities/collaborator.entity';
import { Track } from '../modules/files/entities/track.entity';
import { TrackArtwork } from '../modules/files/entities/track-artwork.entity';
import { TrackCollaborator } from '../modules/files/entities/track-collaborator.entity';
import { TrackFile } from '../modules/files/entities/track-file.entity';
import { Upload } from '../modules/files/entities/upload.entity';
import { Share } from '../modules/share/entities/share.entity';
import { ShareFile } from '../modules/share/entities/share-file.entity';
import { ShareTrack } from '../modules/share/entities/share-track.entity';
import { ShareRecipient } from '../modules/share/entities/share-recipient.entity';
import { ShareAccessRequest } from '../modules/share/entities/share-access-request.entity';
import { ShareComment } from '../modules/share/entities/share-comment.entity';
import { CollabFile } from '../modules/collaboration/entities/collab-file.entity';
import { CollabMember } from '../modules/collaboration/entities/collab-member.entity';
import { CollabPipeline } from '../modules/collaboration/entities/collab-pipeline.entity';
import { NotificationSettings } from '../modules/notifications/entities/notification-settings.entity';
import { Webhook } from '../modules/notifications/entities/webhook.entity';
import { WebhookDelivery } from '../modules/notifications/entities/webhook-delivery.entity';
import { MediaPreview } from '../modules/media/entities/media-preview.entity';

/** Every entity, listed once, so discovery never depends on globs (works the same in ts-jest and dist). */
export const ENTITIES = [
  User,
  ApiToken,
  DropboxConnection,
  Track,
  TrackArtwork,
  Collaborator,
  TrackCollaborator,
  TrackFile,
  Upload,
  Share,
  ShareTrack,
  ShareFile,
  ShareRecipient,
  ShareComment,
  ShareAccessRequest,
  CollabPipeline,
  CollabFile,
  CollabMember,
  MediaPreview,
  Webhook,
  WebhookDelivery,
  NotificationSettings,
];
