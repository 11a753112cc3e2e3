import { libraryTest } from './library';

libraryTest('slow-node', 'fixed');
