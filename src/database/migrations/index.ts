import { Migration20261127000001_accounts } from './Migration20261127000001_accounts';
import { Migration20261127000002_dropbox_connections } from './Migration20261127000002_dropbox_connections';
import { Migration20261127000003_files } from './Migration20261127000003_files';
import { Migration20261127000004_share_links } from './Migration20261127000004_share_links';
import { Migration20261127000005_collaboration } from './Migration20261127000005_collaboration';
import { Migration20261201001000_share_token_hashes } from './Migration20261201001000_share_token_hashes';
import { Migration20261201001001_api_token_scopes } from './Migration20261201001001_api_token_scopes';

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
  { name: 'Migration20261201001000_share_token_hashes', class: Migration20261201001000_share_token_hashes },
  { name: 'Migration20261201001001_api_token_scopes', class: Migration20261201001001_api_token_scopes },
];
