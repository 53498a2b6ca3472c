// The SQLite store's answer to the Store contract: each database is a file in a fresh
// temporary directory.
#include "ferry/server/store/sqlite_store.hpp"
#include "store_contract.hpp"
#include "test_process.hpp"

namespace ferry::test::contract {

namespace {

class SqliteContractDatabase final : public ContractDatabase {
 public:
  std::unique_ptr<server::Store> open(const server::Clock& clock,
                                      std::size_t max_connections) override {
    server::SqliteOptions options;
    if (max_connections > 0) {
      options.max_connections = max_connections;
    }
    auto store = server::open_sqlite_store(dir_ / "ferry.db", clock, options);
    if (!store) {
      FAIL("open_sqlite_store: " << store.error().code << ": " << store.error().message);
    }
    return std::move(*store);
  }

 private:
  TempDir dir_{"ferry-store"};
};

}  // namespace

std::unique_ptr<ContractDatabase> make_contract_database() {
  return std::make_unique<SqliteContractDatabase>();
}

}  // namespace ferry::test::contract
