import { libraryTest } from './library';

libraryTest('connect-blackhole', 'fixed');
