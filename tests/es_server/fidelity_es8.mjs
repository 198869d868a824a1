// fidelity_es8.mjs: the official npm @elastic/elasticsearch 8.19 client against the test server
// in its es8 flavour. The client sends ES 8 compatibility media types and checks the
// X-Elastic-Product header on every answer; each check states what a real Elasticsearch 8.x
// returns (bulk helper outcomes, per-item statuses and error types, versions and _seq_no,
// scroll and point in time with search_after, index and alias management).
// Prints "N passed, M failed".
//
//   node tests/es_server/fidelity_es8.mjs http://127.0.0.1:PORT
import { Client, errors } from '@elastic/elasticsearch';
import { makeChecker } from './check.mjs';

const url = process.argv[2];
const client = new Client({ node: url, requestTimeout: 30000 });
const { check, run, done, expectError } = makeChecker(errors.ResponseError);


await run('info', async () => {
  const info = await client.info();
  check('product check passes, version 8', info.version.number.startsWith('8.'), info.version);
  check('no distribution field', info.version.distribution === undefined);
  check('tagline', info.tagline === 'You Know, for Search');
  const r = await client.transport.request({ method: 'GET', path: '/' }, { meta: true });
  check('compat content-type answered', r.headers['content-type'] === 'application/vnd.elasticsearch+json;compatible-with=8', r.headers['content-type']);
  check('X-Elastic-Product', r.headers['x-elastic-product'] === 'Elasticsearch');
});

await run('indices', async () => {
  const c = await client.indices.create({ index: 'items', settings: { number_of_shards: 2, number_of_replicas: 1 }, mappings: { dynamic: 'strict', properties: { name: { type: 'keyword' }, qty: { type: 'long' }, at: { type: 'date' } } }, aliases: { 'items-read': {} } });
  check('create ack', c.acknowledged === true && c.index === 'items');
  check('exists', (await client.indices.exists({ index: 'items' })) === true);
  check('alias exists', (await client.indices.existsAlias({ name: 'items-read' })) === true);
  const g = await client.indices.get({ index: 'items' });
  check('get: shards', g.items.settings.index.number_of_shards === '2');
  check('get: aliases', JSON.stringify(g.items.aliases) === '{"items-read":{}}');
  check('get: mapping sorted', Object.keys(g.items.mappings.properties).join() === 'at,name,qty', Object.keys(g.items.mappings.properties));
  await expectError('create twice', () => client.indices.create({ index: 'items' }), 400, 'resource_already_exists_exception');
  await expectError('invalid name', () => client.indices.create({ index: 'Items' }), 400, 'invalid_index_name_exception', 'Invalid index name [Items], must be lowercase');
  await expectError('invalid name chars', () => client.indices.create({ index: 'a"b' }), 400, 'invalid_index_name_exception', 'Invalid index name [a"b], must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]');
  await expectError('wildcard delete refused in 8.x', () => client.indices.delete({ index: 'item*' }), 400, 'illegal_argument_exception', 'Wildcard expressions or all indices are not allowed');
  await expectError('delete missing', () => client.indices.delete({ index: 'nothere' }), 404, 'index_not_found_exception', 'no such index [nothere]');
  await client.indices.putMapping({ index: 'items', properties: { note: { type: 'text' } } });
  await expectError('mapping conflict', () => client.indices.putMapping({ index: 'items', properties: { qty: { type: 'keyword' } } }), 400, 'illegal_argument_exception', 'mapper [qty] cannot be changed from type [long] to [keyword]');
  const m = await client.indices.getMapping({ index: 'items' });
  check('put mapping kept', m.items.mappings.properties.note.type === 'text');
  const h = await client.cluster.health({ index: 'items' });
  check('health yellow with a replica', h.status === 'yellow' && h.active_primary_shards === 2 && h.unassigned_shards === 2, h);
});

await run('documents', async () => {
  const r1 = await client.index({ index: 'items', id: 'a', document: { name: 'a', qty: 1 } });
  const r2 = await client.index({ index: 'items', id: 'a', document: { name: 'a', qty: 2 } });
  check('versions', r1._version === 1 && r2._version === 2 && r1.result === 'created' && r2.result === 'updated');
  check('no _type in 8', r1._type === undefined);
  check('_shards', r1._shards.total === 2 && r1._shards.successful === 1);
  await expectError('strict mapping', () => client.index({ index: 'items', id: 'b', document: { name: 'b', color: 'red' } }), 400, 'strict_dynamic_mapping_exception', '[1:21] mapping set to strict, dynamic introduction of [color] within [_doc] is not allowed');
  await expectError('long refuses a word', () => client.index({ index: 'items', id: 'b', document: { qty: 'many' } }), 400, 'document_parsing_exception', "[1:8] failed to parse field [qty] of type [long] in document with id 'b'. Preview of field's value: 'many'");
  await expectError('create existing', () => client.create({ index: 'items', id: 'a', document: { name: 'x' } }), 409, 'version_conflict_engine_exception', '[a]: version conflict, document already exists (current version [2])');
  await expectError('if_seq_no stale', () => client.index({ index: 'items', id: 'a', document: { name: 'x' }, if_seq_no: r1._seq_no, if_primary_term: 1 }), 409, 'version_conflict_engine_exception');
  const u = await client.update({ index: 'items', id: 'a', doc: { qty: 3 } });
  check('update', u.result === 'updated' && u._version === 3);
  const n = await client.update({ index: 'items', id: 'a', doc: { qty: 3 } });
  check('update noop', n.result === 'noop' && n._version === 3);
  await expectError('update missing', () => client.update({ index: 'items', id: 'zz', doc: { qty: 1 } }), 404, 'document_missing_exception', '[zz]: document missing');
  const g = await client.get({ index: 'items', id: 'a' });
  check('get', g.found && g._source.qty === 3 && g._seq_no === u._seq_no);
  const d = await client.delete({ index: 'items', id: 'a' });
  check('delete', d.result === 'deleted' && d._version === 4);
  try {
    await client.get({ index: 'items', id: 'a' });
    check('get deleted', false);
  } catch (e) {
    check('get deleted: 404 found:false', e.meta.statusCode === 404 && e.meta.body.found === false, JSON.stringify(e.meta.body));
  }
});

await run('bulk helper', async () => {
  const docs = Array.from({ length: 3000 }, (_, i) => ({ id: String(i), name: `n${i}`, qty: i }));
  const dropped = [];
  const stats = await client.helpers.bulk({
    datasource: docs,
    onDocument: (d) => ({ index: { _index: 'bulk8', _id: d.id } }),
    onDrop: (x) => dropped.push(x),
    flushBytes: 50000,
    concurrency: 3,
    refreshOnCompletion: true,
  });
  check('helpers.bulk total', stats.total === 3000 && stats.successful === 3000 && stats.failed === 0, stats);
  check('count after refreshOnCompletion', (await client.count({ index: 'bulk8' })).count === 3000);
  const mixed = await client.bulk({
    operations: [
      { create: { _index: 'bulk8', _id: '1' } }, { qty: 1 },
      { index: { _index: 'bulk8', _id: '2' } }, { qty: { nested: true } },
      { delete: { _index: 'bulk8', _id: 'missing' } },
      { update: { _index: 'bulk8', _id: '3' } }, { doc: { name: 'changed' } },
      { update: { _index: 'bulk8', _id: 'up' } }, { doc: { qty: 9 }, doc_as_upsert: true },
      { index: { _index: 'bulk8', _id: 'ext', version: 7, version_type: 'external' } }, { qty: 7 },
      { index: { _index: 'bulk8', _id: 'ext', version: 6, version_type: 'external' } }, { qty: 6 },
      { index: { _index: 'bulk8', _id: 'ext', version: 7, version_type: 'external_gte' } }, { qty: 7 },
      { index: { _index: 'Bad_Index', _id: 'x' } }, { qty: 1 },
      { delete: { _index: 'bulk8', _id: '4' } },
    ],
  });
  const st = mixed.items.map((it) => Object.values(it)[0].status);
  check('errors flag', mixed.errors === true);
  check('per-item statuses', JSON.stringify(st) === JSON.stringify([409, 400, 404, 200, 201, 201, 409, 200, 400, 200]), JSON.stringify(st));
  const it = mixed.items.map((x) => Object.values(x)[0]);
  check('object into long: document_parsing_exception', it[1].error.type === 'document_parsing_exception', JSON.stringify(it[1].error));
  check('external conflict reason', it[6].error.reason === '[ext]: version conflict, current version [7] is higher or the same as provided version [6]', it[6].error.reason);
  check('external_gte equal ok', it[7]._version === 7);
  check('invalid index item', it[8].error.type === 'invalid_index_name_exception', JSON.stringify(it[8]));
  check('_seq_no grows per shard', typeof it[3]._seq_no === 'number' && it[3]._primary_term === 1);
  await expectError('bulk without final newline', () => client.transport.request({ method: 'POST', path: '/_bulk', body: '{"index":{"_index":"x","_id":"1"}}\n{"a":1}', querystring: {} }, { headers: { 'content-type': 'application/vnd.elasticsearch+x-ndjson; compatible-with=8' } }), 400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]');
  await expectError('bulk bad action', () => client.bulk({ operations: [{ upsert: { _index: 'x' } }, { a: 1 }] }), 400, 'illegal_argument_exception', 'Malformed action/metadata line [1], expected field [create], [delete], [index] or [update] but found [upsert]');
  await expectError('bulk unknown parameter', () => client.bulk({ operations: [{ index: { _index: 'x', _foo: 1 } }, { a: 1 }] }), 400, 'illegal_argument_exception', 'Action/metadata line [1] contains an unknown parameter [_foo]');
});

await run('search, scroll, pit', async () => {
  await client.indices.refresh({ index: 'bulk8' });
  const r = await client.search({ index: 'bulk8', query: { bool: { filter: [{ range: { qty: { gte: 100, lt: 110 } } }], must_not: [{ ids: { values: ['105'] } }] } }, sort: [{ qty: 'desc' }], size: 3 });
  check('bool+range+sort', JSON.stringify(r.hits.hits.map((h) => h._source.qty)) === '[109,108,107]', JSON.stringify(r.hits.hits.map((h) => h._source.qty)));
  check('total 9', r.hits.total.value === 9 && r.hits.total.relation === 'eq');
  const t = await client.search({ index: 'bulk8', query: { term: { name: 'n42' } } });
  check('term keyword', t.hits.hits.length === 1 && t.hits.hits[0]._id === '42');
  const tt = await client.search({ index: 'bulk8', size: 0, track_total_hits: 100 });
  check('track_total_hits limit', tt.hits.total.value === 100 && tt.hits.total.relation === 'gte', JSON.stringify(tt.hits.total));
  let seen = 0;
  for await (const res of client.helpers.scrollSearch({ index: 'bulk8', size: 700, query: { match_all: {} } })) seen += res.body.hits.hits.length;
  check('scrollSearch', seen === 3001, seen); // 3000 + upsert + external - deleted
  const docs = [];
  for await (const d of client.helpers.scrollDocuments({ index: 'bulk8', size: 1000 })) docs.push(d);
  check('scrollDocuments', docs.length === 3001);
  const pit = await client.openPointInTime({ index: 'bulk8', keep_alive: '1m' });
  check('pit id', typeof pit.id === 'string' && pit.id.length > 0);
  await client.index({ index: 'bulk8', id: 'late', document: { qty: 999999 }, refresh: true });
  let after;
  const ids = new Set();
  for (let i = 0; i < 20; i++) {
    const page = await client.search({ pit: { id: pit.id, keep_alive: '1m' }, size: 500, sort: [{ qty: 'asc' }], search_after: after });
    if (!page.hits.hits.length) break;
    for (const h of page.hits.hits) ids.add(h._id);
    after = page.hits.hits[page.hits.hits.length - 1].sort;
    check('pit_id returned', page.pit_id === pit.id);
  }
  check('pit frozen view', ids.size === 3001 && !ids.has('late'), ids.size);
  check('implicit _shard_doc tiebreaker', Array.isArray(after) && after.length === 2, JSON.stringify(after));
  const cl = await client.closePointInTime({ id: pit.id });
  check('close pit', cl.succeeded === true && cl.num_freed === 1);
  await expectError('search closed pit', () => client.search({ pit: { id: pit.id }, size: 1 }), 404, 'search_phase_execution_exception');
  await expectError('sort on _id refused in 8', () => client.search({ index: 'bulk8', sort: ['_id'] }), 400, 'search_phase_execution_exception');
  const m = await client.mget({ index: 'bulk8', ids: ['1', 'nope'] });
  check('mget', m.docs[0].found === true && m.docs[1].found === false);
  const cnt = await client.count({ index: 'bulk8', query: { range: { qty: { lt: 10 } } } });
  check('count query', cnt.count === 11, cnt.count); // 0..9 without 4, ext (7), up (9)
  const ms = await client.msearch({ searches: [{ index: 'bulk8' }, { query: { term: { name: 'n42' } } }, { index: 'nothere' }, { query: { match_all: {} } }, {}, { size: 0, query: { range: { qty: { lt: 10 } } } }] });
  check('msearch: one answer per search, in order', ms.responses.length === 3);
  check('msearch: a hit', ms.responses[0].status === 200 && ms.responses[0].hits.hits[0]._id === '42', JSON.stringify(ms.responses[0]).slice(0, 200));
  check('msearch: a missing index fails in its place', ms.responses[1].status === 404 && ms.responses[1].error.type === 'index_not_found_exception');
  check('msearch: no index header searches all', ms.responses[2].hits.total.value >= 11, JSON.stringify(ms.responses[2].hits));
  const fl = await client.indices.flush({ index: 'bulk8' });
  check('flush', fl._shards.failed === 0 && fl._shards.successful === 1, JSON.stringify(fl));
  await expectError('an API the double lacks is refused by name', () => client.reindex({ source: { index: 'bulk8' }, dest: { index: 'copy' } }), 400, 'illegal_argument_exception', '[_reindex] (POST /_reindex) is not supported by the dip ES test server');
});

await run('aliases and cat', async () => {
  await client.indices.create({ index: 'v1' });
  await client.indices.create({ index: 'v2' });
  await client.indices.putAlias({ index: 'v1', name: 'cur' });
  await client.indices.updateAliases({ actions: [{ remove: { index: 'v1', alias: 'cur' } }, { add: { index: 'v2', alias: 'cur' } }] });
  const a = await client.indices.getAlias({ name: 'cur' });
  check('alias swapped', Object.keys(a).join() === 'v2');
  await expectError('remove_index of alias', () => client.indices.updateAliases({ actions: [{ add: { index: 'v1', alias: 'x' } }, { remove: { index: 'v1', alias: 'nope' } }] }), 404, 'aliases_not_found_exception');
  const a1 = await client.indices.getAlias({ index: 'v1' });
  check('failed alias update applied nothing', Object.keys(a1.v1.aliases).length === 0);
  await client.indices.updateAliases({ actions: [{ remove_index: { index: 'v1' } }] });
  check('remove_index', (await client.indices.exists({ index: 'v1' })) === false);
  const rows = await client.cat.indices({ index: 'bulk8', format: 'json', bytes: 'b' });
  check('cat indices json', rows[0]['docs.count'] === '3002' && Number(rows[0]['store.size']) > 3002 * 10, JSON.stringify(rows));
});

done();
