import { z } from 'zod';
import type { V1Lease } from '@kubernetes/client-node';
import { msg } from '../../chat/reply.js';
import { holderName, seconds, unreachable, type CheckType } from './kit.js';

const time = (value: Date | string | undefined): number | undefined => (value === undefined ? undefined : new Date(value).getTime());

/** A lease is held when its holder renewed it within its duration. */
const fresh = (lease: V1Lease, now: number): boolean => {
  const renewed = time(lease.spec?.renewTime);
  return Boolean(lease.spec?.holderIdentity) && renewed !== undefined && now - renewed < (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
};

interface LeaderBaseline {
  holder?: string;
  renewedAt?: number;
}

/**
 * The leader lease of kube-controller-manager or kube-scheduler (kube-system): held and renewed, and with `moved`
 * held by another holder than when the step began. The failover time is the new holder's acquire time minus the
 * old holder's last renewal that the bot saw.
 */
export const leader: CheckType<{ lease: string; namespace: string; moved: boolean }> = {
  params: z.strictObject({ lease: z.string().min(1), namespace: z.string().default('kube-system'), moved: z.boolean().default(false) }),
  async baseline({ cluster }, params): Promise<LeaderBaseline> {
    const lease = await cluster.coordination.readNamespacedLease({ name: params.lease, namespace: params.namespace });
    return { holder: lease.spec?.holderIdentity, renewedAt: time(lease.spec?.renewTime) };
  },
  // At done the old leader is usually gone and its last renewal is what the failover counts from; if the lease
  // already moved (the human answered late), the holder from when the step began is the one that was stopped.
  rebase: (before, now) => ((before as LeaderBaseline | undefined)?.holder === (now as LeaderBaseline | undefined)?.holder || !before ? now : before),
  async run({ cluster, now }, params, baseline) {
    try {
      const lease = await cluster.coordination.readNamespacedLease({ name: params.lease, namespace: params.namespace });
      const before = (baseline ?? {}) as LeaderBaseline;
      const holder = lease.spec?.holderIdentity;
      const held = fresh(lease, now());
      if (!params.moved) {
        return { ok: held, evidence: msg(held ? 'drill.ev.leader' : 'drill.ev.noLeader', { lease: params.lease, holder: holderName(holder) }) };
      }
      const moved = held && holder !== undefined && holder !== before.holder;
      if (!moved) return { ok: false, evidence: msg('drill.ev.leaderNotMoved', { lease: params.lease, holder: holderName(holder), held: held ? '✓' : '✗' }) };
      const acquired = time(lease.spec?.acquireTime);
      const failoverMs = acquired !== undefined && before.renewedAt !== undefined ? Math.max(0, acquired - before.renewedAt) : undefined;
      return {
        ok: true,
        evidence: msg('drill.ev.leaderMoved', { lease: params.lease, holder: holderName(holder), from: holderName(before.holder), seconds: failoverMs === undefined ? '?' : seconds(failoverMs) }),
        figures: failoverMs === undefined ? {} : { failoverMs },
      };
    } catch (error) {
      return unreachable(error);
    }
  },
};

/**
 * API server identity leases (kube-system, label apiserver.kubernetes.io/identity=kube-apiserver; older clusters
 * k8s.io/component=kube-apiserver): how many apiservers are alive. A lease counts when renewed within `staleAfter`
 * seconds (apiservers renew every 10 s by default, while the lease itself lasts an hour). The number expected is
 * the apiservers listed in `of` less `down`.
 */
export const apiserverLeases: CheckType<{ of: string[]; down: number; staleAfter: number }> = {
  params: z.strictObject({ of: z.array(z.string()).min(1), down: z.coerce.number().int().min(0).default(0), staleAfter: z.coerce.number().int().min(1).default(30) }),
  async run({ cluster, now }, params) {
    try {
      let items = (await cluster.coordination.listNamespacedLease({ namespace: 'kube-system', labelSelector: 'apiserver.kubernetes.io/identity=kube-apiserver' })).items;
      if (items.length === 0) items = (await cluster.coordination.listNamespacedLease({ namespace: 'kube-system', labelSelector: 'k8s.io/component=kube-apiserver' })).items;
      const alive = items.filter((lease) => {
        const renewed = time(lease.spec?.renewTime);
        return renewed !== undefined && now() - renewed < Math.min(params.staleAfter, lease.spec?.leaseDurationSeconds ?? Infinity) * 1000;
      });
      const expected = params.of.length - params.down;
      const names = alive.map((lease) => lease.metadata?.labels?.['kubernetes.io/hostname'] ?? lease.metadata?.name ?? '?').sort();
      return { ok: alive.length === expected, evidence: msg('drill.ev.apiservers', { alive: alive.length, expected, names: names.join(', ') || '—' }) };
    } catch (error) {
      return unreachable(error);
    }
  },
};
