// The Store contract: concurrent writers, on one store object and on two.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "store_contract.hpp"

namespace ferry::test::contract {

TEST_CASE("concurrent registrations never pass the limit", "[contract][register][concurrency]") {
  ContractFixture f;
  auto store = f.another(4);
  auto other = f.another(4);
  require_ok(store->insert_register_code(make_code("rc-a", 5)));

  std::atomic<int> ok{0};
  std::atomic<int> limited{0};
  std::atomic<int> other_errors{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    Store* s = i % 2 == 0 ? store.get() : other.get();
    threads.emplace_back([&, s, i] {
      while (!go.load()) {
        std::this_thread::yield();
      }
      auto r = s->register_instance(make_check("rc-a"),
                                    make_instance("rins-" + std::to_string(i), "rc-a"));
      if (r) {
        ++ok;
      } else if (r.error().code == sc::kRegisterLimitExceeded) {
        ++limited;
      } else {
        ++other_errors;
      }
    });
  }
  go = true;
  for (auto& t : threads) {
    t.join();
  }
  CHECK(ok == 5);
  CHECK(limited == 3);
  CHECK(other_errors == 0);
  CHECK(require_value(store->list_register_codes({"rc-a"}, 0, 1)).items.at(0).registered_count ==
        5);
  CHECK(require_value(store->list_instances({})).total == 5);
}

TEST_CASE("a second store on the database sees committed writes", "[contract][concurrency]") {
  ContractFixture f;
  auto& a = f.store;
  auto b = f.another();
  require_ok(a->insert_command(make_command("cmd-1", "one")));
  CHECK(require_value(b->get_command("cmd-1")));
  CHECK(error_code(b->insert_command(make_command("cmd-2", "one"))) == sc::kCommandNameDuplicated);
  require_ok(b->delete_commands({"cmd-1"}));
  CHECK_FALSE(require_value(a->get_command("cmd-1")));
}

TEST_CASE("parallel readers and writers on a small pool", "[contract][concurrency]") {
  ContractFixture f;
  auto store = f.another(3);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        std::string id = "cmd-" + std::to_string(t) + "-" + std::to_string(i);
        if (!store->insert_command(make_command(id, id))) {
          ++failures;
        }
        auto got = store->get_command(id);
        if (!got || !*got) {
          ++failures;
        }
        if (!store->list_commands({})) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(failures == 0);
  CHECK(require_value(store->count_saved_commands()) == 180);
}

}  // namespace ferry::test::contract
