import { libraryTest } from './library';

libraryTest('stalled-write', 'fixed');
