import { libraryTest } from './library';

libraryTest('partition-heal', 'incident');
