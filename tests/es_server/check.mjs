// check.mjs: the small pass/fail ledger the fidelity scripts share: check(name, cond, detail)
// counts, run(name, fn) turns a crash inside a group into one failure and goes on, done()
// prints "N passed, M failed" and sets the exit status.
export function makeChecker() {
  let passed = 0;
  let failed = 0;
  return {
    check(name, cond, detail = '') {
      if (cond) passed++;
      else {
        failed++;
        console.log(`FAIL ${name} ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
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
