// One PostgreSQL server for a test binary run, started on first use in a temporary directory
// (initdb, then postgres as a child of this process listening on 127.0.0.1 and a free port) and
// stopped and removed at exit, also when cases failed. Not through pg_ctl, whose server would
// outlive a killed binary: this one dies with it (only the directory stays then). When this
// process runs as root, the server runs as the `postgres` user (initdb refuses root). When it
// cannot be started, the binary exits 77 (ctest: skipped), unless CI=true is in the
// environment: then each case that needs it fails.
#pragma once

#include <string>

namespace ferry::test {

class PgTestServer {
 public:
  // The running server; fails the case or exits 77 as above.
  static PgTestServer& get();

  virtual ~PgTestServer() = default;
  // A new database (its name): a copy of one the store's migrations were applied to, or with
  // `migrated` false an empty one.
  virtual std::string create_database(bool migrated = true) = 0;
  virtual void drop_database(const std::string& name) noexcept = 0;
  [[nodiscard]] virtual std::string url(const std::string& database) const = 0;
  // SQL run as the superuser on `database` (checks and tampering in tests): the first column of
  // the first row, "" without one. A failure fails the case.
  virtual std::string query(const std::string& database, const std::string& sql) = 0;
  // A fast shutdown (every session closed) and a start again on the same port and data: what
  // `pg_ctl restart -m fast` does, in two halves so that a test can act in between.
  virtual void stop() = 0;
  virtual void start() = 0;
};

}  // namespace ferry::test
