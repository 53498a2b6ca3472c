// Store errors (store/store_errors.hpp) as the TAT API says them. The TAT API and the agent
// protocol both answer in TAT codes, so both error envelopes pass every error through here;
// another dialect maps the same store codes onto its own.
#pragma once

#include "ferry/core/error.hpp"

namespace ferry::server {

// The TAT error for a store error (same message); any other error unchanged.
Error tat_error(Error error);

}  // namespace ferry::server
