'use strict';
// Starts a ferry-server for one test run (temporary data dir, fixed credentials, port 0) and
// stops it again; killed with the test process (managed_process.js).

const fs = require('node:fs');
const path = require('node:path');

const { ManagedProcess } = require('./managed_process');

const LISTENING = /ferry-server listening on (http:\/\/127\.0\.0\.1:(\d+))/;

class FerryServer extends ManagedProcess {
  constructor(binary, { secretId, secretKey, config }) {
    super(binary, 'ferry-sdk-');
    this.secretId = secretId;
    this.secretKey = secretKey;
    this.config = config;
    this.stderr = [];
  }

  // Resolves once the server printed its listening line; rejects after `timeoutMs`.
  start(timeoutMs = 20000) {
    const dataDir = path.join(this.dir, 'data');
    const configFile = path.join(this.dir, 'server.json');
    fs.writeFileSync(configFile, JSON.stringify(this.config, null, 2));
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        reject(new Error(`ferry-server did not print its listening line within ${timeoutMs} ms`));
      }, timeoutMs);
      const child = this.spawn(
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
        (stream, d) => {
          if (stream === 'stderr') {
            this.stderr.push(d);
            if (this.stderr.length > 2000) this.stderr.splice(0, 1000);
            return;
          }
          out += d;
          const m = LISTENING.exec(out);
          if (m && !this.url) {
            clearTimeout(timer);
            this.url = m[1];
            this.port = Number(m[2]);
            resolve(this);
          }
        },
      );
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ${this.binary}: ${e.message}`));
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`ferry-server exited early (code ${code}, signal ${signal})`));
      });
    });
  }

  // SIGTERM (SIGKILL after `graceMs`), then the data directory goes. Resolves with the status.
  async stop(graceMs = 5000) {
    const status = await super.stop(graceMs);
    this.cleanup();
    return status;
  }

  logTail(lines = 40) {
    return this.stderr.join('').split('\n').slice(-lines).join('\n');
  }
}

module.exports = { FerryServer };
