// The PostgreSQL store's answer to the Store contract: each database is a fresh database on the
// binary's one test server (pg_test_server.hpp).
#include "ferry/server/store/postgres_store.hpp"
#include "pg_test_server.hpp"
#include "store_contract.hpp"

namespace ferry::test::contract {

namespace {

class PgContractDatabase final : public ContractDatabase {
 public:
  // Not dropped at the end: the whole server goes at exit, and a DROP DATABASE per case would
  // cost the run a few seconds.
  PgContractDatabase() : server_(PgTestServer::get()), name_(server_.create_database()) {}

  std::unique_ptr<server::Store> open(const server::Clock& clock,
                                      std::size_t max_connections) override {
    server::PostgresOptions options;
    options.url = server_.url(name_);
    if (max_connections > 0) {
      options.max_connections = max_connections;
    }
    auto store = server::open_postgres_store(options, clock);
    if (!store) {
      FAIL("open_postgres_store: " << store.error().code << ": " << store.error().message);
    }
    return std::move(*store);
  }

 private:
  PgTestServer& server_;
  std::string name_;
};

}  // namespace

std::unique_ptr<ContractDatabase> make_contract_database() {
  return std::make_unique<PgContractDatabase>();
}

}  // namespace ferry::test::contract
