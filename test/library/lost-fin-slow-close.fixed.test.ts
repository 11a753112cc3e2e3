import { assertLibraryRun } from './library';

assertLibraryRun('lost-fin-slow-close', 'fixed');
