import { assertLibraryRun } from './library';

assertLibraryRun('db-failover-half-open', 'incident');
