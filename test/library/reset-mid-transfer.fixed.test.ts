import { libraryTest } from './library';

libraryTest('reset-mid-transfer', 'fixed');
