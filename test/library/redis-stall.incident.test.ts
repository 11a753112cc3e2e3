import { assertLibraryRun } from './library';

assertLibraryRun('redis-stall', 'incident');
