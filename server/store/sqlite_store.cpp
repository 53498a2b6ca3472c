// Opening the SQL store on SQLite: the file, created private, and its migrations.
#include "ferry/server/store/sqlite_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "sql_schema.hpp"
#include "sql_store_impl.hpp"
#include "sqlite_db.hpp"

namespace ferry::server {

namespace sqlite {

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
  auto store = std::make_unique<sql::SqlStore>(
      file.string(),
      [file, busy_timeout = options.busy_timeout] {
        return sqlite::Connection::open(file, busy_timeout);
      },
      options.max_connections, clock, options.observer);
  if (auto s = store->migrate(); !s) {
    return s.error();
  }
  return std::unique_ptr<Store>(std::move(store));
}

int64_t sqlite_schema_version() {
  return sql::schema_version();
}

}  // namespace ferry::server
