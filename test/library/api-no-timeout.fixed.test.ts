import { assertLibraryRun } from './library';

assertLibraryRun('api-no-timeout', 'fixed');
