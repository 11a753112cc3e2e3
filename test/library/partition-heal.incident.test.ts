import { assertLibraryRun } from './library';

assertLibraryRun('partition-heal', 'incident');
