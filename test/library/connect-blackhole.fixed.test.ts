import { assertLibraryRun } from './library';

assertLibraryRun('connect-blackhole', 'fixed');
