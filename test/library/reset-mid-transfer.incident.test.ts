import { assertLibraryRun } from './library';

assertLibraryRun('reset-mid-transfer', 'incident');
