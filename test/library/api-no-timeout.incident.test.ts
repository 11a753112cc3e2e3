import { libraryTest } from './library';

libraryTest('api-no-timeout', 'incident');
