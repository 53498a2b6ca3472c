#include "ferry/server/store/sqlite_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "sqlite_query.hpp"
#include "sqlite_schema.hpp"
#include "sqlite_store_impl.hpp"

namespace ferry::server {

namespace sqlite {

SqliteStore::SqliteStore(const std::filesystem::path& file, const Clock& clock,
                         SqliteOptions options)
    : file_(file),
      clock_(clock),
      pool_(file, options.max_connections, options.busy_timeout),
      observer_(options.observer) {}

Status SqliteStore::migrate() {
  auto lease = pool_.acquire();
  if (!lease) {
    return lease.error().wrap("opening " + file_.string());
  }
  Connection& conn = **lease;
  auto s = in_transaction(
      conn, Transaction::Kind::kWrite, "creating schema_migrations", [&](Connection& c) -> Status {
        return c.exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)");
      });
  if (!s) {
    return s.error().wrap(file_.string());
  }
  const int64_t latest = sqlite_schema_version();
  for (const auto& m : migrations()) {
    // Each step re-reads the version inside its write transaction: another process opening
    // the same file at the same moment applies each step once between the two of them.
    s = in_transaction(conn, Transaction::Kind::kWrite, "migrating", [&](Connection& c) -> Status {
      auto current = read_int(c.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
      if (!current) {
        return current.error();
      }
      if (*current > latest) {
        return Error{store_codes::kFailed, "the database has schema version " +
                                               std::to_string(*current) +
                                               ", newer than this ferry-server knows (" +
                                               std::to_string(latest) + "): upgrade ferry-server"};
      }
      if (*current >= m.version) {
        return {};
      }
      for (const auto& sql : m.statements) {
        if (auto e = c.exec(sql.c_str()); !e) {
          return e.error().wrap("schema version " + std::to_string(m.version));
        }
      }
      return c.run("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", m.version,
                   clock_.now_ms());
    });
    if (!s) {
      return s.error().wrap(file_.string());
    }
  }
  return {};
}

namespace {

// Creates the database file 0600 before SQLite does, so that its default (0644 less the umask)
// never applies; SQLite gives the -wal and -shm files the database file's mode. An existing file
// is left as its owner set it.
Status create_private_file(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return {};
    }
    return errno_error(store_codes::kFailed, "creating " + file.string(), errno);
  }
  // The umask only clears bits, but a umask like 0277 would clear ours too.
  int rc = ::fchmod(fd, 0600);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return errno_error(store_codes::kFailed, "chmod " + file.string(), err);
  }
  // The new directory entry must survive a crash like the data written into the file.
  auto dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace

}  // namespace sqlite

Expected<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& file,
                                                   const Clock& clock, SqliteOptions options) {
  if (auto s = sqlite::create_private_file(file); !s) {
    return s.error();
  }
  auto store = std::make_unique<sqlite::SqliteStore>(file, clock, options);
  if (auto s = store->migrate(); !s) {
    return s.error();
  }
  return std::unique_ptr<Store>(std::move(store));
}

int64_t sqlite_schema_version() {
  return sqlite::migrations().back().version;
}

}  // namespace ferry::server
