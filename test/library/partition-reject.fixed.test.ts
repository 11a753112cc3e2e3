import { assertLibraryRun } from './library';

assertLibraryRun('partition-reject', 'fixed');
