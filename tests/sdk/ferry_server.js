'use strict';
// Starts a ferry-server for one test run (temporary data dir, fixed credentials, port 0) and
// stops it again; killed with the test process (managed_process.js). A server can be started
// again on the data dir it kept (stop with keepData), and a second server can share the data
// dir of another (option dataDir): one SQLite database, two processes.

const fs = require('node:fs');
const path = require('node:path');

const { ManagedProcess } = require('./managed_process');

const LISTENING = /ferry-server listening on (http:\/\/127\.0\.0\.1:(\d+))/;

class FerryServer extends ManagedProcess {
  // `dataDir`: the data dir of another FerryServer, which owns it (this one never removes it);
  // by default a data dir of this server's own, in its temporary directory.
  constructor(binary, { secretId, secretKey, config, dataDir }) {
    super(binary, 'ferry-sdk-');
    this.secretId = secretId;
    this.secretKey = secretKey;
    this.config = config;
    this.dataDir = dataDir || path.join(this.dir, 'data');
    this.stderr = [];
    this.url = null;
    this.port = null;
  }

  // Resolves once the server printed its listening line; rejects after `timeoutMs`. Also after
  // a stop with keepData: the same data dir, a new port (url and port change).
  start(timeoutMs = 20000) {
    const configFile = path.join(this.dir, 'server.json');
    fs.writeFileSync(configFile, JSON.stringify(this.config, null, 2));
    this.url = null;
    this.port = null;
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
          this.dataDir,
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

  // SIGTERM (SIGKILL after `graceMs`), then the temporary directory goes, its data dir with it,
  // unless `keepData` (to start again on it). Resolves with the status.
  async stop(graceMs = 5000, { keepData = false } = {}) {
    const status = await super.stop(graceMs);
    if (!keepData) this.cleanup();
    return status;
  }

  logTail(lines = 40) {
    return this.stderr.join('').split('\n').slice(-lines).join('\n');
  }
}

module.exports = { FerryServer };
