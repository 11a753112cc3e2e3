import { libraryTest } from './library';

libraryTest('lost-fin', 'fixed');
