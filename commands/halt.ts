import { defineDrillShortcut } from './drill-words.js';

/** `停止演练`: the emergency stop of the running drill (the same as `drill stop`); any participant may use it. */
export default defineDrillShortcut('halt', ['停止演练', '紧急停止'], 'cmd.halt', (drills, context, environment, note) => drills.abort(context.user.id, environment, note, true));
