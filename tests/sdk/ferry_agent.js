'use strict';
// A real ferry-agent for one test run: `ferry-agent register` into a temporary state dir, then
// the daemon in the foreground with a test configuration (fast polling, short kill grace, debug
// log on stderr), killed with the test process (managed_process.js). The per-task supervisors
// are in sessions of their own by design (they outlive the agent); each task ends at the latest
// at its Timeout.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { ManagedProcess } = require('./managed_process');

// Runs `binary args` to its end; resolves with {code, signal, stdout, stderr}. Killed (SIGKILL)
// after `timeoutMs`.
function runToEnd(binary, args, { env = {}, timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const kill = () => child.kill('SIGKILL');
    process.on('exit', kill);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(kill, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      process.removeListener('exit', kill);
      reject(new Error(`cannot start ${binary}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', kill);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

class FerryAgent extends ManagedProcess {
  constructor(binary, config = {}) {
    super(binary, 'ferry-sdk-agent-');
    this.stateDir = path.join(this.dir, 'state');
    this.config = {
      state_dir: this.stateDir,
      log_level: 'debug',
      poll_interval_ms: 500,
      kill_grace_ms: 500,
      reconnect_max_ms: 2000,
      retry_max_ms: 2000,
      shutdown_flush_ms: 3000,
      ...config,
    };
    this.log = ''; // the daemon's stdout and stderr, in order of arrival
    this.waiters = [];
    this.instanceId = null;
  }

  // `ferry-agent --version`, e.g. "0.1.0".
  async version() {
    const r = await runToEnd(this.binary, ['--version'], { timeoutMs: 10000 });
    const m = /^ferry-agent (\S+)\n$/.exec(r.stdout);
    if (r.code !== 0 || !m) {
      throw new Error(`ferry-agent --version: status ${r.code}, output '${r.stdout}${r.stderr}'`);
    }
    return m[1];
  }

  // `ferry-agent register`, the code value in FERRY_REGISTER_CODE. Resolves with the run's
  // {code, signal, stdout, stderr}; on success the instance id (first line of stdout) is kept.
  async register(serverUrl, codeId, codeValue) {
    const r = await runToEnd(
      this.binary,
      [
        'register',
        '--server',
        serverUrl,
        '--register-code-id',
        codeId,
        '--state-dir',
        this.stateDir,
      ],
      { env: { FERRY_REGISTER_CODE: codeValue }, timeoutMs: 30000 },
    );
    if (r.code === 0) this.instanceId = r.stdout.split('\n')[0];
    return r;
  }

  // Starts the daemon (`ferry-agent --config FILE`) in the foreground.
  start() {
    if (this.child && !this.exited) throw new Error('the agent is already running');
    const configFile = path.join(this.dir, 'agent.json');
    fs.writeFileSync(configFile, JSON.stringify(this.config, null, 2));
    const child = this.spawn(['--config', configFile], (_, d) => {
      this.log += d;
      if (this.log.length > 4000000) this.log = this.log.slice(-2000000);
      this.waiters = this.waiters.filter((w) => !w.probe());
    });
    child.on('error', () => this.waiters.forEach((w) => w.probe()));
    child.on('exit', () => {
      this.waiters = this.waiters.filter((w) => !w.probe());
    });
  }

  // Resolves once the daemon's log matches `pattern` (a RegExp); rejects after `timeoutMs` or
  // when the daemon exits first.
  waitLog(pattern, timeoutMs = 15000) {
    return new Promise((resolve, reject) => {
      const waiter = {
        probe: () => {
          if (pattern.test(this.log)) {
            clearTimeout(timer);
            resolve();
            return true;
          }
          if (this.exited) {
            clearTimeout(timer);
            reject(
              new Error(`ferry-agent exited (${JSON.stringify(this.exited)}) before ${pattern}`),
            );
            return true;
          }
          return false;
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`ferry-agent did not log ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!waiter.probe()) this.waiters.push(waiter);
    });
  }

  // SIGTERM, then SIGKILL if it has not exited within `graceMs`; the state dir stays.
  stop(graceMs = 10000) {
    return super.stop(graceMs);
  }

  logTail(lines = 60) {
    return this.log.split('\n').slice(-lines).join('\n');
  }
}

module.exports = { FerryAgent, runToEnd };
