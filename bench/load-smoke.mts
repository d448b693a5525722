import { loadChecklists } from '../src/drills/checklist.js';
const lists = loadChecklists('config/drills');
for (const [name, c] of lists) console.log(name, c.steps.length, c.rto);
