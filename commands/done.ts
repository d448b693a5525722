import { defineAnswer } from './drill-words.js';

/** `完成 [note]`: answers the current drill step, as `drill done`. */
export default defineAnswer('done', '完成', 'cmd.done');
