'use strict';
// Starts a ferry-server for one test run (temporary data dir, fixed credentials, port 0) and
// stops it again. The process is killed when the test process exits for any reason, so a failing
// or interrupted run never leaves a server behind.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const LISTENING = /ferry-server listening on (http:\/\/127\.0\.0\.1:(\d+))/;

class FerryServer {
  constructor(binary, { secretId, secretKey, config }) {
    this.binary = binary;
    this.secretId = secretId;
    this.secretKey = secretKey;
    this.config = config;
    this.dir = null;
    this.child = null;
    this.stderr = [];
    this.exited = null;
    this.onExit = () => this.kill();
  }

  // Resolves once the server printed its listening line; rejects after `timeoutMs`.
  start(timeoutMs = 20000) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-sdk-'));
    const dataDir = path.join(this.dir, 'data');
    const configFile = path.join(this.dir, 'server.json');
    fs.writeFileSync(configFile, JSON.stringify(this.config, null, 2));
    this.child = spawn(
      this.binary,
      [
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        dataDir,
        '--secret-id',
        this.secretId,
        '--secret-key',
        this.secretKey,
        '--config',
        configFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    process.on('exit', this.onExit);
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => {
      this.stderr.push(d);
      if (this.stderr.length > 2000) this.stderr.splice(0, 1000);
    });
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        reject(new Error(`ferry-server did not print its listening line within ${timeoutMs} ms`));
      }, timeoutMs);
      this.child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ${this.binary}: ${e.message}`));
      });
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        clearTimeout(timer);
        reject(new Error(`ferry-server exited early (code ${code}, signal ${signal})`));
      });
      this.child.stdout.setEncoding('utf8');
      this.child.stdout.on('data', (d) => {
        out += d;
        const m = LISTENING.exec(out);
        if (m && !this.url) {
          clearTimeout(timer);
          this.url = m[1];
          this.port = Number(m[2]);
          resolve(this);
        }
      });
    });
  }

  // SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves with the exit status.
  stop(graceMs = 5000) {
    process.removeListener('exit', this.onExit);
    if (!this.child || this.exited) {
      this.cleanup();
      return Promise.resolve(this.exited);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.exited = { code, signal };
        this.cleanup();
        resolve(this.exited);
      });
      this.child.kill('SIGTERM');
    });
  }

  // Synchronous last resort for process exit.
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
    if (this.dir) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      this.dir = null;
    }
  }

  logTail(lines = 40) {
    return this.stderr.join('').split('\n').slice(-lines).join('\n');
  }
}

module.exports = { FerryServer };
