import type { Scenario } from '../harness';
import { collabPipelinesScenario } from './collab-pipelines';
import { libraryListingScenario } from './library-listing';
import { linksScenario } from './links';
import { listenBeaconsScenario } from './listen-beacons';
import { previewsScenario } from './previews';
import { scaleScenario } from './scale';
import { sharePageScenario } from './share-page';
import { soakScenario } from './soak';
import { uploadScenario } from './upload';
import { zipsScenario } from './zips';

/**
 * Every scenario, in the order a full run takes them. To add one (library listing, share page under autocannon,
 * collaboration pipelines, soak…): write `scenarios/<name>.ts` exporting a {@link Scenario} and list it here.
 */
export const SCENARIOS: Scenario[] = [
  uploadScenario,
  linksScenario,
  libraryListingScenario,
  sharePageScenario,
  listenBeaconsScenario,
  previewsScenario,
  zipsScenario,
  collabPipelinesScenario,
  scaleScenario,
  soakScenario,
];
