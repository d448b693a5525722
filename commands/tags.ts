import { requireApp } from '../src/chat/apps.js';
import { defineCommand } from '../src/chat/command.js';
import { UserError, msg } from '../src/chat/reply.js';

const SHOWN = 20;

export default defineCommand({
  name: 'tags',
  aliases: ['镜像'],
  summary: 'cmd.tags',
  examples: ['tags order-service'],
  args: [{ name: 'app', kind: 'word', required: true }] as const,
  async run(context, args) {
    const { app } = requireApp(context, args.app);
    const { registries } = context.services;
    if (!registries.for(app.image)) throw new UserError('tags.notConfigured', { image: app.image });
    let tags: string[];
    try {
      tags = await registries.tags(app.image);
    } catch (error) {
      throw new UserError('tags.failed', { reason: String((error as Error).message).slice(0, 120) });
    }
    if (tags.length === 0) return { blocks: [{ type: 'text', text: msg('tags.none', { image: app.image }), tone: 'muted' }] };
    return { blocks: [{ type: 'title', text: msg('tags.title', { image: app.image, count: Math.min(tags.length, SHOWN) }) }, { type: 'list', items: tags.slice(0, SHOWN) }] };
  },
});
