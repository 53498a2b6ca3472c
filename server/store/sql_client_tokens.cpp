// Cloud Assistant's ClientToken claims (Store::claim_client_token and its two ends).
#include "sql_query.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server::sql {

namespace {
constexpr int64_t kForgetAfterMs = 24 * 3600 * 1000;
}  // namespace

Expected<ClientTokenClaim> SqlStore::claim_client_token(const std::string& owner,
                                                        const std::string& token,
                                                        const std::string& request_hash,
                                                        int64_t now_ms, int64_t stale_ms) {
  using State = ClientTokenClaim::State;
  return write("claiming a client token", [&](Connection& conn) -> Expected<ClientTokenClaim> {
    if (auto s =
            conn.run("DELETE FROM client_tokens WHERE claimed_ms < ?", now_ms - kForgetAfterMs);
        !s) {
      return s.error();
    }
    struct Row {
      std::string hash;
      std::optional<std::string> result;
      int64_t claimed_ms = 0;
    };
    auto found = first_row(conn.prepare("SELECT request_hash, result IS NOT NULL, "
                                        "coalesce(result, ''), claimed_ms FROM client_tokens "
                                        "WHERE owner = ? AND token = ?",
                                        owner, token),
                           [](Query& q) -> Expected<Row> {
                             Row r;
                             r.hash = q.next_text();
                             const bool done = q.next_bool();
                             std::string result = q.next_text();
                             if (done) {
                               r.result = std::move(result);
                             }
                             r.claimed_ms = q.next_int();
                             return r;
                           });
    if (!found) {
      return found.error();
    }
    if (*found) {
      const Row& row = **found;
      if (row.hash != request_hash) {
        return ClientTokenClaim{State::kMismatch, ""};
      }
      if (row.result) {
        return ClientTokenClaim{State::kDone, *row.result};
      }
      if (row.claimed_ms > now_ms - stale_ms) {
        return ClientTokenClaim{State::kProcessing, ""};
      }
    }
    if (auto s = conn.run(
            "INSERT INTO client_tokens (owner, token, request_hash, result, claimed_ms) "
            "VALUES (?, ?, ?, NULL, ?) ON CONFLICT (owner, token) DO UPDATE SET "
            "request_hash = excluded.request_hash, result = NULL, claimed_ms = excluded.claimed_ms",
            owner, token, request_hash, now_ms);
        !s) {
      return s.error();
    }
    return ClientTokenClaim{State::kNew, ""};
  });
}

Status SqlStore::complete_client_token(const std::string& owner, const std::string& token,
                                       const std::string& result) {
  return write("completing a client token", [&](Connection& conn) {
    return conn.run("UPDATE client_tokens SET result = ? WHERE owner = ? AND token = ?", result,
                    owner, token);
  });
}

Status SqlStore::release_client_token(const std::string& owner, const std::string& token) {
  return write("releasing a client token", [&](Connection& conn) {
    return conn.run("DELETE FROM client_tokens WHERE owner = ? AND token = ? AND result IS NULL",
                    owner, token);
  });
}

}  // namespace ferry::server::sql
