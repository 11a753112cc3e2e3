import { libraryTest } from './library';

libraryTest('lost-fin-slow-close', 'fixed');
