import { assertLibraryRun } from './library';

assertLibraryRun('stalled-write', 'fixed');
