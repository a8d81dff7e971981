import { accountRoutes } from './account';
import { fileRoutes } from './files';
import { ApiRoute } from './route';
import { sharingRoutes } from './sharing';
import { uploadRoutes } from './uploads';

/** Every emulated API route by name (`files/upload`), served under `/2/<name>`. */
export const apiRoutes: ReadonlyMap<string, ApiRoute> = new Map(
  Object.entries({ ...fileRoutes, ...uploadRoutes, ...sharingRoutes, ...accountRoutes }),
);
