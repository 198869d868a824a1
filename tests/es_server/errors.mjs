// errors.mjs: error bodies shaped like the real engines'. An EsError carries the HTTP status,
// the exception type, the reason and the metadata ES prints after the reason (index,
// index_uuid, shard, resource.*), plus an optional cause; toJSON renders the
// {"error":{"root_cause":[...],"type","reason",...},"status":N} envelope ES answers with,
// and item() the shorter object used inside _bulk / _mget items.

// Causes that are plain Java exceptions, not ElasticsearchExceptions: root_cause stops above
// them (ElasticsearchException.guessRootCauses).
const JAVA_EXCEPTIONS = new Set(['illegal_argument_exception', 'illegal_state_exception', 'number_format_exception',
  'json_parse_exception', 'x_content_parse_exception', 'date_time_parse_exception', 'null_pointer_exception']);

export class EsError extends Error {
  constructor(status, type, reason, meta = {}, cause = null) {
    super(reason);
    this.status = status;
    this.type = type;
    this.reason = reason;
    this.meta = meta; // key order = output order (after type and reason)
    this.cause = cause; // another EsError-like {type, reason, meta, cause}
    this.extra = null; // fields after the metadata (phase, grouped, failed_shards ...)
    this.headers = null; // response headers (WWW-Authenticate)
  }

  // The object ES renders for one exception (with its caused_by chain).
  body(withCause = true) {
    const o = { type: this.type, reason: this.reason, ...this.meta };
    if (this.extra) Object.assign(o, this.extra);
    if (withCause && this.cause) o.caused_by = this.cause.body ? this.cause.body(true) : this.cause;
    return o;
  }

  rootCauses() {
    // ES reports the innermost ElasticsearchException causes; search phase failures report
    // their shard failures' causes.
    if (this.rootOverride) return this.rootOverride;
    let e = this;
    while (e.cause && !JAVA_EXCEPTIONS.has(e.cause.type)) e = e.cause;
    return [{ type: e.type, reason: e.reason, ...e.meta }];
  }

  toJSON() {
    return { error: { root_cause: this.rootCauses(), ...this.body(true) }, status: this.status };
  }

  item() {
    return this.body(true);
  }
}

export function cause(type, reason, meta = {}) {
  return new EsError(0, type, reason, meta);
}

export const err = {
  indexNotFound(name) {
    return new EsError(404, 'index_not_found_exception', `no such index [${name}]`, {
      'resource.type': 'index_or_alias',
      'resource.id': name,
      index_uuid: '_na_',
      index: name,
    });
  },
  invalidIndexName(name, why) {
    return new EsError(400, 'invalid_index_name_exception', `Invalid index name [${name}], ${why}`, {
      index_uuid: '_na_',
      index: name,
    });
  },
  alreadyExists(idx) {
    return new EsError(400, 'resource_already_exists_exception', `index [${idx.name}/${idx.uuid}] already exists`, {
      index_uuid: idx.uuid,
      index: idx.name,
    });
  },
  illegalArg(reason) {
    return new EsError(400, 'illegal_argument_exception', reason);
  },
  validation(problems) {
    const text = problems.map((p, i) => `${i + 1}: ${p};`).join('');
    return new EsError(400, 'action_request_validation_exception', `Validation Failed: ${text}`);
  },
  parse(reason) {
    return new EsError(400, 'parse_exception', reason);
  },
  xcontent(reason) {
    return new EsError(400, 'x_content_parse_exception', reason);
  },
};

// Search-phase failure wrapper: ES answers "all shards failed" with the shard failures
// listed and their cause as root_cause.
export function searchPhaseFailure(status, inner, index, phase = 'query') {
  const e = new EsError(status, 'search_phase_execution_exception', 'all shards failed', {});
  e.extra = {
    phase,
    grouped: true,
    failed_shards: [{ shard: 0, index, node: 'dipTestNode0000000000', reason: inner.body(true) }],
  };
  e.cause = inner;
  e.rootOverride = [{ type: inner.type, reason: inner.reason, ...inner.meta }];
  return e;
}
