'use strict';
// One running Podman container for a test: an image imported from a busybox root filesystem
// (no registry, no network) with a marker file in /etc, started with `sleep`. When no container
// can be started here (no podman, no /bin/busybox, or the kernel refuses the runtime), start()
// resolves with `whyNot` set instead, and the caller says so. remove() deletes the container and
// the image.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const PATHS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function onPath(name) {
  return PATHS.map((d) => path.join(d, name)).find((p) => fs.existsSync(p)) || null;
}

// `argv` run to its end (at most 120 s): {ok, out, err}.
function run(argv) {
  try {
    const out = execFileSync(argv[0], argv.slice(1), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120000,
    });
    return { ok: true, out, err: '' };
  } catch (e) {
    return { ok: false, out: String(e.stdout || ''), err: String(e.stderr || e.message) };
  }
}

class PodmanContainer {
  constructor() {
    this.name = `ferry-acs-${process.pid}`;
    this.image = `localhost/ferry-acs-busybox:${process.pid}`;
    this.marker = `made for ${this.name}`;
    this.podman = null;
    this.id = null;
    this.whyNot = null;
  }

  start() {
    this.podman = onPath('podman');
    if (!this.podman) return this.fail('podman is not installed (scripts/deps installs it)');
    if (!fs.existsSync('/bin/busybox')) return this.fail('/bin/busybox is missing (busybox-static)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-acs-rootfs-'));
    try {
      const root = path.join(dir, 'rootfs');
      for (const d of ['bin', 'tmp', 'proc', 'dev', 'sys', 'etc']) {
        fs.mkdirSync(path.join(root, d), { recursive: true });
      }
      fs.chmodSync(path.join(root, 'tmp'), 0o1777);
      fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
      fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
      for (const applet of ['sh', 'sleep', 'cat', 'echo', 'id', 'ps', 'kill', 'rm', 'hostname']) {
        fs.symlinkSync('busybox', path.join(root, 'bin', applet));
      }
      fs.writeFileSync(path.join(root, 'etc', 'ferry-marker'), `${this.marker}\n`);
      const tar = path.join(dir, 'rootfs.tar');
      if (!run(['/bin/tar', '-C', root, '-cf', tar, '.']).ok) return this.fail('tar failed');
      const imported = run([this.podman, 'import', tar, this.image]);
      if (!imported.ok) return this.fail(`podman import failed: ${imported.err}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // Limits the kernel here may refuse to raise; runc where crun cannot run on hybrid cgroups.
    const common = ['run', '-d', '--name', this.name, '--network', 'none', '--ulimit',
      'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];
    let errors = '';
    for (const runtime of [[], ['--runtime', 'runc']]) {
      const r = run([this.podman, ...runtime, ...common, this.image, '/bin/sleep', '3600']);
      if (r.ok) {
        this.id = r.out.trim().split('\n')[0];
        return this;
      }
      errors += r.err;
      run([this.podman, 'rm', '-f', this.name]);
    }
    return this.fail(`podman cannot start a container here: ${errors.trim()}`);
  }

  fail(why) {
    this.whyNot = why;
    return this;
  }

  remove() {
    if (!this.podman) return;
    run([this.podman, 'rm', '-f', '-t', '0', this.name]);
    run([this.podman, 'rmi', '-f', this.image]);
  }
}

module.exports = { PodmanContainer };
