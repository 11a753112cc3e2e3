import { assertLibraryRun } from './library';

assertLibraryRun('lost-fin', 'incident');
