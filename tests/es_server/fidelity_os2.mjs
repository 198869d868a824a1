// fidelity_os2.mjs: the official npm @opensearch-project/opensearch 3.5 client against the test
// server in its os2 flavour. Each check states what a real OpenSearch 2.x returns: the
// distribution in GET /, no X-Elastic-Product header, helpers.bulk outcomes, per-item statuses
// and error types, versions and _seq_no, point in time (createPit + search_after + deletePit)
// with a frozen view, index and alias management. Prints "N passed, M failed".
//
//   node tests/es_server/fidelity_os2.mjs http://127.0.0.1:PORT
import { Client, errors } from '@opensearch-project/opensearch';
import { makeChecker } from './check.mjs';

const url = process.argv[2];
const client = new Client({ node: url, requestTimeout: 30000 });
const { check, run, done, expectError } = makeChecker(errors.ResponseError);


await run('info', async () => {
  const r = await client.info();
  check('distribution opensearch', r.body.version.distribution === 'opensearch', r.body.version);
  check('version 2.x', r.body.version.number.startsWith('2.'));
  check('no product header', r.headers['x-elastic-product'] === undefined);
  check('content-type', r.headers['content-type'] === 'application/json; charset=UTF-8', r.headers['content-type']);
  check('tagline', r.body.tagline === 'The OpenSearch Project: https://opensearch.org/');
});

await run('indices', async () => {
  const c = await client.indices.create({ index: 'logs', body: { settings: { index: { number_of_shards: 3, number_of_replicas: 0 } }, mappings: { properties: { msg: { type: 'text' }, level: { type: 'keyword' }, n: { type: 'integer' } } } } });
  check('create', c.body.acknowledged === true && c.body.index === 'logs');
  check('exists', (await client.indices.exists({ index: 'logs' })).body === true);
  check('not exists', (await client.indices.exists({ index: 'nologs' })).body === false);
  await expectError('invalid name', () => client.indices.create({ index: '-logs' }), 400, 'invalid_index_name_exception', "Invalid index name [-logs], must not start with '_', '-', or '+'");
  await expectError('invalid name #', () => client.indices.create({ index: 'lo#gs' }), 400, 'invalid_index_name_exception', "Invalid index name [lo#gs], must not contain '#'");
  const g = await client.indices.get({ index: 'logs' });
  check('settings', g.body.logs.settings.index.number_of_shards === '3' && g.body.logs.settings.index.version.created === '136387927');
  const h = await client.cluster.health({ index: 'logs' });
  check('health green', h.body.status === 'green' && h.body.active_primary_shards === 3 && h.body.discovered_cluster_manager === true, h.body);
  await client.indices.create({ index: 'tmp-a' });
  await client.indices.create({ index: 'tmp-b' });
  await client.indices.delete({ index: 'tmp-*' });
  check('wildcard delete allowed', (await client.indices.exists({ index: 'tmp-a' })).body === false);
});

await run('bulk', async () => {
  const docs = Array.from({ length: 2000 }, (_, i) => ({ id: `d${i}`, msg: `event number ${i}`, level: i % 10 === 0 ? 'error' : 'info', n: i }));
  const res = await client.helpers.bulk({
    datasource: docs,
    onDocument: (d) => ({ index: { _index: 'logs', _id: d.id } }),
    flushBytes: 40000,
    refreshOnCompletion: 'logs',
  });
  check('helpers.bulk', res.total === 2000 && res.successful === 2000 && res.failed === 0, res);
  check('count', (await client.count({ index: 'logs' })).body.count === 2000);
  const r = await client.bulk({
    body: [
      { index: { _index: 'logs', _id: 'd1' } }, { n: 1, level: 'warn' },
      { index: { _index: 'logs', _id: 'd1' } }, { n: 1, level: 'warn', extra: 1 },
      { create: { _index: 'logs', _id: 'd1' } }, { n: 1 },
      { index: { _index: 'logs', _id: 'bad' } }, { n: 'xyz' },
      { index: { _index: 'logs', _id: 'big' } }, { n: 3000000000 },
      { update: { _index: 'logs', _id: 'd2' } }, { doc: { level: 'error' } },
      { delete: { _index: 'logs', _id: 'd3' } },
      { delete: { _index: 'logs', _id: 'd3' } },
    ],
  });
  const items = r.body.items.map((x) => Object.values(x)[0]);
  check('statuses', JSON.stringify(items.map((i) => i.status)) === '[200,200,409,400,400,200,200,404]', JSON.stringify(items.map((i) => i.status)));
  check('versions 2,3', items[0]._version === 2 && items[1]._version === 3);
  check('seq_no on one shard grows', items[1]._seq_no === items[0]._seq_no + 1);
  check('no _type', items[0]._type === undefined);
  check('mapper_parsing_exception (no position in OpenSearch)', items[3].error.type === 'mapper_parsing_exception' && items[3].error.reason === "failed to parse field [n] of type [integer] in document with id 'bad'. Preview of field's value: 'xyz'", JSON.stringify(items[3].error));
  check('integer range', items[4].error.caused_by && items[4].error.caused_by.reason === 'Value [3000000000] is out of range for an integer', JSON.stringify(items[4].error));
  check('delete twice: not_found', items[7].result === 'not_found');
  const routed = await client.index({ index: 'logs', id: 'r1', routing: 'user7', body: { n: 5 }, refresh: true });
  check('routing', routed.body.result === 'created');
  const got = await client.get({ index: 'logs', id: 'r1', routing: 'user7' });
  check('get with routing', got.body._routing === 'user7' && got.body.found === true, got.body);
});

await run('search and pit', async () => {
  await client.indices.refresh({ index: 'logs' });
  const total = (await client.count({ index: 'logs' })).body.count;
  const e = await client.search({ index: 'logs', body: { query: { bool: { filter: [{ term: { level: 'error' } }] } }, size: 0 } });
  check('term on keyword', e.body.hits.total.value === 201, e.body.hits.total);
  const m = await client.search({ index: 'logs', body: { query: { match: { msg: 'number 1999' } }, size: 1 } });
  check('match on text', m.body.hits.total.value >= 1);
  const pit = await client.createPit({ index: 'logs', keep_alive: '1m' });
  check('pit_id', typeof pit.body.pit_id === 'string' && typeof pit.body.creation_time === 'number', pit.body);
  await client.index({ index: 'logs', id: 'after-pit', body: { n: -1 }, refresh: true });
  const seen = new Set();
  let after;
  for (let i = 0; i < 30; i++) {
    const page = await client.search({ body: { pit: { id: pit.body.pit_id, keep_alive: '1m' }, size: 300, sort: [{ n: 'asc' }, { level: 'asc' }], search_after: after } });
    const hits = page.body.hits.hits;
    if (!hits.length) break;
    for (const h of hits) seen.add(h._id);
    after = hits[hits.length - 1].sort;
  }
  check('pit + search_after sees the frozen view', seen.size === total && !seen.has('after-pit'), `${seen.size} vs ${total}`);
  const all = await client.getAllPits();
  check('list pits', all.body.pits.length === 1);
  const del = await client.deletePit({ body: { pit_id: [pit.body.pit_id] } });
  check('delete pit', del.body.pits[0].successful === true);
  const s = await client.search({ index: 'logs', scroll: '30s', size: 1000, body: { sort: ['_doc'] } });
  let n = s.body.hits.hits.length;
  let sid = s.body._scroll_id;
  for (;;) {
    const p = await client.scroll({ body: { scroll_id: sid, scroll: '30s' } });
    if (!p.body.hits.hits.length) break;
    n += p.body.hits.hits.length;
    sid = p.body._scroll_id;
  }
  check('scroll', n === total + 1, n);
  const cl = await client.clearScroll({ body: { scroll_id: sid } });
  check('clear scroll', cl.body.succeeded === true);
  const ms = await client.msearch({ body: [{ index: 'logs' }, { size: 0, query: { term: { level: 'error' } } }, { index: 'nothere' }, {}] });
  check('msearch', ms.body.responses.length === 2 && ms.body.responses[0].hits.total.value === 201 && ms.body.responses[1].status === 404, JSON.stringify(ms.body).slice(0, 300));
});

await run('aliases', async () => {
  await client.indices.create({ index: 'blue' });
  await client.indices.create({ index: 'green' });
  await client.indices.updateAliases({ body: { actions: [{ add: { index: 'blue', alias: 'prod', is_write_index: true } }, { add: { index: 'green', alias: 'prod' } }] } });
  const w = await client.index({ index: 'prod', id: '1', body: { a: 1 } });
  check('write goes to the write index', w.body._index === 'blue');
  await client.indices.updateAliases({ body: { actions: [{ remove: { index: 'blue', alias: 'prod' } }] } });
  await expectError('alias with no write index', () => client.index({ index: 'prod2', id: '1', body: {}, require_alias: true }), 404, 'index_not_found_exception');
  const a = await client.indices.getAlias({ name: 'prod' });
  check('alias view', Object.keys(a.body).join() === 'green');
  const cat = await client.cat.indices({ format: 'json' });
  check('cat indices', cat.body.some((r) => r.index === 'logs' && r.pri === '3'));
});

done();
