export { eventually } from '../../bench/lib/eventually.js';
