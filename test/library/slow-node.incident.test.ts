import { assertLibraryRun } from './library';

assertLibraryRun('slow-node', 'incident');
