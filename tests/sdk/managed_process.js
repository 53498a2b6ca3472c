'use strict';
// A program one test run owns: spawned with its stdout and stderr on pipes, a temporary
// directory of its own, stopped with SIGTERM (SIGKILL after a grace), and killed, its directory
// removed, when the test process exits for any reason, so that a failing or interrupted run
// leaves nothing behind.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

class ManagedProcess {
  // `dirPrefix`: the temporary directory's name, made at once, e.g. 'ferry-sdk-'.
  constructor(binary, dirPrefix) {
    this.binary = binary;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
    this.child = null;
    this.exited = null; // {code, signal} once it ended; {code: null, signal: null, error} if it never started
    this.onExit = () => this.kill();
    process.on('exit', this.onExit);
  }

  // Starts `binary args`; `onOutput(stream, text)` sees stdout and stderr as they come.
  spawn(args, onOutput) {
    this.exited = null;
    this.child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const [name, stream] of [
      ['stdout', this.child.stdout],
      ['stderr', this.child.stderr],
    ]) {
      stream.setEncoding('utf8');
      stream.on('data', (d) => onOutput(name, d));
    }
    this.child.on('error', (e) => {
      this.exited = { code: null, signal: null, error: e.message };
    });
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
    });
    return this.child;
  }

  // SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves with the exit status.
  stop(graceMs) {
    if (!this.child || this.exited) return Promise.resolve(this.exited);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.exited = { code, signal };
        resolve(this.exited);
      });
      this.child.kill('SIGTERM');
    });
  }

  // Synchronous last resort (process exit, Ctrl-C): SIGKILL, then the directory goes.
  kill() {
    if (this.child && !this.exited) {
      try {
        this.child.kill('SIGKILL');
      } catch (_) {
        // already gone
      }
    }
    this.cleanup();
  }

  cleanup() {
    process.removeListener('exit', this.onExit);
    if (this.dir) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      this.dir = null;
    }
  }
}

module.exports = { ManagedProcess };
