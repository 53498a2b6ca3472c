// An API key pair. One set of credentials serves every dialect: each verifies its own signature
// with the same SecretKey.
#pragma once

#include <string>

namespace ferry::server {

struct ApiCredential {
  std::string secret_id;
  std::string secret_key;  // secret: never logged
};

}  // namespace ferry::server
