import { libraryTest } from './library';

libraryTest('redis-stall', 'incident');
