import { Migration20261127000001_accounts } from './Migration20261127000001_accounts';
import { Migration20261127000002_dropbox_connections } from './Migration20261127000002_dropbox_connections';
import { Migration20261127000003_files } from './Migration20261127000003_files';
import { Migration20261127000004_share_links } from './Migration20261127000004_share_links';
import { Migration20261127000005_collaboration } from './Migration20261127000005_collaboration';
import { Migration20261201000001_media_previews } from './Migration20261201000001_media_previews';
import { Migration20261201001000_share_token_hashes } from './Migration20261201001000_share_token_hashes';
import { Migration20261201001001_api_token_scopes } from './Migration20261201001001_api_token_scopes';
import { Migration20261201002000_collaboration_settings } from './Migration20261201002000_collaboration_settings';
import { Migration20261201003000_dropbox_storage_full } from './Migration20261201003000_dropbox_storage_full';
import { Migration20261201003001_track_files_unservable } from './Migration20261201003001_track_files_unservable';
import { Migration20261201003002_dropbox_email_unverified } from './Migration20261201003002_dropbox_email_unverified';
import { Migration20261201003003_collab_members_gone } from './Migration20261201003003_collab_members_gone';
import { Migration20261201004000_share_follow } from './Migration20261201004000_share_follow';
import { Migration20261201004100_file_versions } from './Migration20261201004100_file_versions';
import { Migration20261201005000_notifications } from './Migration20261201005000_notifications';
import { Migration20261201100000_share_recipients } from './Migration20261201100000_share_recipients';
import { Migration20261201200000_share_comments } from './Migration20261201200000_share_comments';
import { Migration20261201200100_share_comments_recipient } from './Migration20261201200100_share_comments_recipient';
import { Migration20261201300000_upload_spool_host } from './Migration20261201300000_upload_spool_host';

/**
 * Migrations in order. Listed explicitly (not globbed) so the same list runs from ts-jest, from dist and in the
 * Docker image. Add new ones at the end; never edit one that has shipped.
 */
export const MIGRATIONS = [
  { name: 'Migration20261127000001_accounts', class: Migration20261127000001_accounts },
  { name: 'Migration20261127000002_dropbox_connections', class: Migration20261127000002_dropbox_connections },
  { name: 'Migration20261127000003_files', class: Migration20261127000003_files },
  { name: 'Migration20261127000004_share_links', class: Migration20261127000004_share_links },
  { name: 'Migration20261127000005_collaboration', class: Migration20261127000005_collaboration },
  { name: 'Migration20261201000001_media_previews', class: Migration20261201000001_media_previews },
  { name: 'Migration20261201001000_share_token_hashes', class: Migration20261201001000_share_token_hashes },
  { name: 'Migration20261201001001_api_token_scopes', class: Migration20261201001001_api_token_scopes },
  { name: 'Migration20261201002000_collaboration_settings', class: Migration20261201002000_collaboration_settings },
  { name: 'Migration20261201003000_dropbox_storage_full', class: Migration20261201003000_dropbox_storage_full },
  { name: 'Migration20261201003001_track_files_unservable', class: Migration20261201003001_track_files_unservable },
  { name: 'Migration20261201003002_dropbox_email_unverified', class: Migration20261201003002_dropbox_email_unverified },
  { name: 'Migration20261201003003_collab_members_gone', class: Migration20261201003003_collab_members_gone },
  { name: 'Migration20261201004000_share_follow', class: Migration20261201004000_share_follow },
  { name: 'Migration20261201004100_file_versions', class: Migration20261201004100_file_versions },
  { name: 'Migration20261201005000_notifications', class: Migration20261201005000_notifications },
  { name: 'Migration20261201100000_share_recipients', class: Migration20261201100000_share_recipients },
  { name: 'Migration20261201200000_share_comments', class: Migration20261201200000_share_comments },
  { name: 'Migration20261201200100_share_comments_recipient', class: Migration20261201200100_share_comments_recipient },
  { name: 'Migration20261201300000_upload_spool_host', class: Migration20261201300000_upload_spool_host },
];
