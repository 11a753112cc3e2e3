import { assertLibraryRun } from './library';

assertLibraryRun('partition-reject', 'incident');
