// Administrators' KV edits against a real 3-node nats-server cluster (server/kv-compare-and-set.ts):
// eight writers appending to one key at once through different servers, each read-modify-write
// retried on a lost compare-and-set. Every writer told "done" must find its edit in the final
// value: nats-server 2.9.x can accept two compare-and-sets on one revision (nats-server#4320), and
// without the check after the write one of them was lost while its writer was told it succeeded.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConcurrentEditError, writeChangedEntries } from '../../server/kv-compare-and-set.ts';
import { startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';

let cluster: TestNatsCluster;
const ncs: NatsConnection[] = [];

beforeAll(async () => {
  cluster = await startTestNatsCluster();
  for (const url of cluster.urls) ncs.push(await connect({ servers: url }));
  await new Kvm(ncs[0]!).create('test_admin_edits', { replicas: 3, history: 5 }); // once, before the writers open it
}, 60_000);

afterAll(async () => {
  for (const nc of ncs) await nc.close().catch(() => undefined);
  await cluster?.close();
});

/** Appends `id` to the key's JSON list: read, change, write; a lost compare-and-set reads again. */
async function append(nc: NatsConnection, key: string, id: string): Promise<'done' | 'told'> {
  const kv = await new Kvm(nc).open('test_admin_edits');
  for (let attempt = 0; attempt < 50; attempt++) {
    const e = await kv.get(key);
    const list = e?.operation === 'PUT' ? (JSON.parse(Buffer.from(e.value).toString('utf8')) as string[]) : [];
    try {
      await writeChangedEntries(kv, [{ key, json: JSON.stringify([...list, id]), revision: e?.revision }]);
      return 'done';
    } catch (err) {
      if (err instanceof ConcurrentEditError) return 'told';
    }
  }
  throw new Error(`${id}: never written`);
}

it('a writer told its edit is done finds it in the final value; one overtaken after its write is told so', async () => {
  const lost: string[] = [];
  for (let round = 0; round < 4; round++) {
    const key = `k${round}`;
    const ids = Array.from({ length: 8 }, (_, i) => `w${i}`);
    const outcomes = await Promise.all(ids.map((id, i) => append(ncs[i % ncs.length]!, key, id)));
    const kv = await new Kvm(ncs[0]!).open('test_admin_edits');
    const final = JSON.parse(Buffer.from((await kv.get(key))!.value).toString('utf8')) as string[];
    ids.forEach((id, i) => {
      if (outcomes[i] === 'done' && !final.includes(id)) lost.push(`${key}: ${id}`);
    });
  }
  expect(lost).toEqual([]);
}, 60_000);
