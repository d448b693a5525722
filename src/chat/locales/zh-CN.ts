// zh-CN catalog: every string the bot says. Placeholders are {name}. The en catalog must have the same keys.
export const zhCN = {
  'hint.unknown': '没有看懂“{text}”。发送 help（帮助）查看可用命令。',
  'hint.empty': '发送 help（帮助）查看可用命令。',

  'help.title': 'wekube 命令',
  'help.footer': '发送 help <命令> 查看用法；@<环境> 选择环境（默认 {env}）。',
  'help.usage': '用法',
  'help.aliases': '别名',
  'help.mutates': '会修改集群；受保护环境需要确认',
  'help.unknown': '没有命令“{name}”。发送 help 查看全部命令。',
  'help.notAllowed': '（你的角色不能使用）',

  'cmd.help': '列出命令，或查看某个命令的用法',
  'cmd.whoami': '查看我的用户 ID 和角色',

  'whoami.title': '我是谁',
  'whoami.user': '用户 ID',
  'whoami.roles': '角色',
  'whoami.commands': '可用命令',
  'whoami.environments': '可用环境',
  'whoami.approve': '可以批准',
  'whoami.yes': '是',
  'whoami.no': '否',
  'whoami.all': '全部',

  'error.usage': '用法：{usage}',
  'error.missingArg': '缺少参数 <{arg}>。',
  'error.extraArgs': '多余的参数：{args}。',
  'error.notInteger': '<{arg}> 应该是整数，收到“{value}”。',
  'error.choice': '<{arg}> 应该是 {choices} 之一，收到“{value}”。',
  'error.unknownEnv': '没有环境“{env}”。可用环境：{envs}。',
  'error.manyEnvs': '只能指定一个环境，收到 {envs}。',
  'error.forbidden': '你的角色（{roles}）不能使用 {command}。请联系运维开通权限。',
  'error.forbiddenEnv': '你的角色（{roles}）不能在环境 {env} 使用 {command}。',
  'error.internal': '执行 {command} 时出错了，已记录日志。请稍后重试，或联系运维。',
  'error.interrupted': 'wekube 重启时“{text}”还在执行，结果未知。请用 status 查看后再决定是否重发。',

  'console.banner': 'wekube 控制台：你是 {user}（{roles}）。输入 help 查看命令，Ctrl-D 退出。',
  'console.to': '→ 发给 {to}',
} as const;

export type MessageKey = keyof typeof zhCN;
