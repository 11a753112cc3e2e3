import { libraryTest } from './library';

libraryTest('db-failover-half-open', 'fixed');
