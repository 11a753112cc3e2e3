import { libraryTest } from './library';

libraryTest('stalled-write', 'incident');
