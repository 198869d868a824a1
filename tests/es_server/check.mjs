// check.mjs: the small pass/fail ledger the fidelity scripts share: check(name, cond, detail)
// counts, run(name, fn) turns a crash inside a group into one failure and goes on,
// expectError(name, fn, status, type, reason) checks a client call fails with the engine's
// answer (ResponseError: the client's error class), done() prints "N passed, M failed" and
// sets the exit status.
export function makeChecker(ResponseError = null) {
  let passed = 0;
  let failed = 0;
  const check = (name, cond, detail = '') => {
    if (cond) passed++;
    else {
      failed++;
      console.log(`FAIL ${name} ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
    }
  };
  return {
    check,
    async expectError(name, fn, status, type, reason) {
      try {
        await fn();
        check(name, false, 'no error raised');
      } catch (e) {
        if (!ResponseError || !(e instanceof ResponseError)) throw e;
        const body = e.meta.body;
        check(`${name} status`, e.meta.statusCode === status, `${e.meta.statusCode} ${JSON.stringify(body)}`);
        if (type !== undefined) check(`${name} type`, body.error && body.error.type === type, JSON.stringify(body));
        if (reason !== undefined) check(`${name} reason`, body.error && body.error.reason === reason, JSON.stringify(body.error && body.error.reason));
      }
    },
    async run(name, fn) {
      try {
        await fn();
      } catch (e) {
        failed++;
        console.log(`FAIL ${name}: exception ${e && e.stack}`);
        if (e && e.meta && e.meta.body) console.log(JSON.stringify(e.meta.body));
      }
    },
    done() {
      console.log(`${passed} passed, ${failed} failed`);
      process.exit(failed ? 1 : 0);
    },
  };
}
