// The wire form of a PeerMessage (peer_notifier.hpp): what one server sends another through the
// database, checked on receipt since anyone who may NOTIFY on the database can send it.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/server/store/peer_notifier.hpp"

namespace ferry::server {

namespace {

constexpr std::size_t kMaxIdLength = 64;

bool is_id(std::string_view s, std::string_view prefix) {
  if (s.empty() || s.size() > kMaxIdLength || !s.starts_with(prefix) || s.size() == prefix.size()) {
    return false;
  }
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string format_peer_message(const PeerMessage& message) {
  std::string out = message.kind == PeerMessage::Kind::kCancel ? "cancel " : "kick ";
  out += message.from_server;
  out += ' ';
  out += message.instance_id;
  out += ' ';
  out += message.task_id;
  return out;
}

std::optional<PeerMessage> parse_peer_message(std::string_view payload) {
  // Four fields separated by one space each; nothing before, between or after.
  std::vector<std::string_view> fields;
  while (fields.size() < 5) {
    const auto space = payload.find(' ');
    fields.push_back(payload.substr(0, space));
    if (space == std::string_view::npos) {
      break;
    }
    payload.remove_prefix(space + 1);
  }
  if (fields.size() != 4) {
    return std::nullopt;
  }
  PeerMessage m;
  if (fields[0] == "kick") {
    m.kind = PeerMessage::Kind::kKick;
  } else if (fields[0] == "cancel") {
    m.kind = PeerMessage::Kind::kCancel;
  } else {
    return std::nullopt;
  }
  if (!is_id(fields[1], "") || !is_id(fields[2], "rins-") || !is_id(fields[3], "invt-")) {
    return std::nullopt;
  }
  m.from_server = fields[1];
  m.instance_id = fields[2];
  m.task_id = fields[3];
  return m;
}

}  // namespace ferry::server
