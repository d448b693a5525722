import { defineAnswer } from './drill-words.js';

/** `跳过 [note]`: answers the current drill step, as `drill skip`. */
export default defineAnswer('skip', '跳过', 'cmd.skip');
