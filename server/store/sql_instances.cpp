// The SQL store's registered instances (registration, listing, renaming, deletion, the
// heartbeat's record) and the agents' nonces.
#include "sql_query.hpp"
#include "sql_rows.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server::sql {

namespace sc = store_codes;

namespace {

const std::string kInstanceNames = column_names(kInstanceColumns);

Expected<RegisterInstance> read_instance(Query& q) {
  return read_row<RegisterInstance>(q, kInstanceColumns);
}

// The register code, then every check of register_instance that needs no write, in order.
Expected<RegisterCode> check_registration(Connection& conn, const RegistrationCheck& check,
                                          const RegisterInstance& inst) {
  static const std::string kSelect = "SELECT " + column_names(kRegisterCodeColumns) +
                                     " FROM register_codes WHERE register_code_id = ?";
  auto found = first_row(conn.prepare(kSelect, check.register_code_id),
                         [](Query& q) { return read_row<RegisterCode>(q, kRegisterCodeColumns); });
  if (!found) {
    return found.error();
  }
  if (!*found) {
    return Error{sc::kRegisterCodeNotFound,
                 "register code " + check.register_code_id + " not found"};
  }
  const RegisterCode& code = **found;
  // The value first: without it a caller learns nothing of the code's state.
  if (code.value_hash != check.value_hash) {
    return Error{sc::kRegisterCodeValueMismatch, "register code value does not match"};
  }
  if (!code.enabled) {
    return Error{sc::kRegisterCodeDisabled, "register code is disabled"};
  }
  if (code.expired_ms != 0 && check.now_ms >= code.expired_ms) {
    return Error{sc::kRegisterCodeExpired, "register code has expired"};
  }
  auto revoked =
      has_row(conn.prepare("SELECT 1 FROM revoked_keys WHERE public_key = ?", inst.public_key));
  if (!revoked) {
    return revoked.error();
  }
  if (*revoked) {
    return Error{sc::kKeyRevoked,
                 "the key belonged to a deleted instance; register with a new key"};
  }
  if (code.registered_count >= code.register_limit) {
    return Error{sc::kRegisterLimitExceeded, "register code has reached its register limit"};
  }
  if (check.extra) {
    if (auto s = check.extra(code); !s) {
      return s.error();
    }
  }
  return std::move(**found);
}

}  // namespace

Status SqlStore::register_instance(const RegistrationCheck& check, const RegisterInstance& inst) {
  static const std::string kInsert = insert_sql("register_instances", kInstanceNames);
  return write("registering an instance", [&](Connection& conn) -> Status {
    auto code = check_registration(conn, check, inst);
    if (!code) {
      return code.error();
    }
    if (auto s = conn.run("UPDATE register_codes SET registered_count = registered_count + 1 "
                          "WHERE register_code_id = ?",
                          code->register_code_id);
        !s) {
      return s;
    }
    if (auto s = insert_row(conn, kInsert, inst, kInstanceColumns, "instance"); !s) {
      return s;
    }
    return write_tags(conn, kInstanceTags, inst.instance_id, inst.tags);
  });
}

Expected<std::optional<RegisterInstance>> SqlStore::get_instance(const std::string& id) {
  static const std::string kSelect =
      "SELECT " + kInstanceNames + " FROM register_instances WHERE instance_id = ?";
  return read_txn("reading an instance", [&](Connection& conn) {
    return read_tagged<RegisterInstance>(conn, kSelect, id, kInstanceColumns, kInstanceTags);
  });
}

Expected<Page<RegisterInstance>> SqlStore::list_instances(const RegisterInstanceQuery& iq) {
  return read_txn("listing instances", [&](Connection& conn) -> Expected<Page<RegisterInstance>> {
    Filter f{{"instance_id", iq.instance_ids},
             {"instance_name", iq.instance_names},
             {"local_ip", iq.local_ips},
             {"register_code_id", iq.register_code_ids},
             {"system_name", iq.system_names}};
    f.tags(kInstanceTags, "register_instances", iq);
    auto page = read_page(conn, Listing{"register_instances", kInstanceNames, "instance_id"}, f, iq,
                          read_instance);
    if (!page) {
      return page;
    }
    if (auto s = read_tags_of(conn, kInstanceTags, page->items, &RegisterInstance::instance_id);
        !s) {
      return s.error();
    }
    return page;
  });
}

Status SqlStore::rename_instance(const std::string& id, const std::string& name, int64_t now_ms) {
  return write("renaming an instance", [&](Connection& conn) -> Status {
    if (auto s = conn.run(
            "UPDATE register_instances SET instance_name = ?, updated_ms = ? WHERE instance_id = ?",
            name, now_ms, id);
        !s) {
      return s;
    }
    return expect_changed(conn, sc::kInstanceNotFound, "instance", id);
  });
}

Expected<std::vector<Tag>> SqlStore::modify_instance_tags(
    const std::string& id, const std::function<Status(std::vector<Tag>&)>& mutate, int64_t now_ms) {
  return write("tagging an instance", [&](Connection& conn) -> Expected<std::vector<Tag>> {
    if (auto s = conn.run("UPDATE register_instances SET updated_ms = ? WHERE instance_id = ?",
                          now_ms, id);
        !s) {
      return s.error();
    }
    if (auto s = expect_changed(conn, sc::kInstanceNotFound, "instance", id); !s) {
      return s.error();
    }
    auto tags = read_tags(conn, select_tags_sql(kInstanceTags), id);
    if (!tags) {
      return tags;
    }
    if (auto s = mutate(*tags); !s) {
      return s.error();
    }
    if (auto s = write_tags(conn, kInstanceTags, id, *tags); !s) {
      return s.error();
    }
    return tags;
  });
}

Status SqlStore::delete_instance(const std::string& id) {
  return write("deleting an instance", [&](Connection& conn) -> Status {
    if (auto s = conn.run(
            "INSERT INTO revoked_keys (public_key, instance_id, revoked_ms) "
            "SELECT public_key, instance_id, ? FROM register_instances WHERE instance_id = ? "
            "ON CONFLICT DO NOTHING",
            clock_.now_ms(), id);
        !s) {
      return s;
    }
    if (auto s = delete_all(conn, "register_instances", "instance_id", {id}); !s) {
      return s;
    }
    if (auto s = expect_changed(conn, sc::kInstanceNotFound, "instance", id); !s) {
      return s;
    }
    for (const char* table : {"agent_nonces", "agent_presence"}) {
      if (auto s = delete_all(conn, table, "instance_id", {id}); !s) {
        return s;
      }
    }
    return {};
  });
}

Status SqlStore::record_heartbeat(const std::string& id, const std::string& version,
                                  const std::string& environment,
                                  const std::vector<std::string>& features, int64_t now_ms) {
  return write("recording a heartbeat", [&](Connection& conn) -> Status {
    auto q = conn.prepare(
        "UPDATE register_instances SET agent_version = ?, environment = ?, "
        "support_features = ?, last_heartbeat_ms = ? WHERE instance_id = ?",
        version, environment);
    if (!q) {
      return q.error();
    }
    bind_value(*q, features);
    if (auto s = q->bind(now_ms, id).run(); !s) {
      return s;
    }
    return expect_changed(conn, sc::kInstanceNotFound, "instance", id);
  });
}

Expected<bool> SqlStore::remember_nonce(const std::string& instance_id, const std::string& nonce,
                                        int64_t expires_ms, int64_t now_ms) {
  // Expired nonces are swept in bulk only now and then; the upsert below already lets an
  // expired entry be reused, so the sweep only bounds the table's size.
  static constexpr uint64_t kSweepEvery = 256;
  const bool sweep = nonce_calls_.fetch_add(1, std::memory_order_relaxed) % kSweepEvery == 0;
  return write("remembering a nonce", [&](Connection& conn) -> Expected<bool> {
    if (sweep) {
      if (auto s = conn.run("DELETE FROM agent_nonces WHERE expires_ms <= ?", now_ms); !s) {
        return s.error();
      }
    }
    if (auto s = conn.run(
            "INSERT INTO agent_nonces (instance_id, nonce, expires_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (instance_id, nonce) DO UPDATE SET expires_ms = excluded.expires_ms "
            "WHERE agent_nonces.expires_ms <= ?",
            instance_id, nonce, expires_ms, now_ms);
        !s) {
      return s.error();
    }
    return conn.changes() > 0;
  });
}

}  // namespace ferry::server::sql
