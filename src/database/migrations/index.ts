import { Migration20261127000001_accounts } from './Migration20261127000001_accounts';
import { Migration20261127000002_dropbox_connections } from './Migration20261127000002_dropbox_connections';
import { Migration20261127000003_files } from './Migration20261127000003_files';

/**
 * Migrations in order. Listed explicitly (not globbed) so the same list runs from ts-jest, from dist and in the
 * Docker image. Add new ones at the end; never edit one that has shipped.
 */
export const MIGRATIONS = [
  { name: 'Migration20261127000001_accounts', class: Migration20261127000001_accounts },
  { name: 'Migration20261127000002_dropbox_connections', class: Migration20261127000002_dropbox_connections },
  { name: 'Migration20261127000003_files', class: Migration20261127000003_files },
];
