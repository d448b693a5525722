import { defineAnswer } from './drill-words.js';

/** `失败 [note]`: answers the current drill step, as `drill fail`. */
export default defineAnswer('fail', '失败', 'cmd.fail');
