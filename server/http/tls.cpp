// The TLS half of the sessions: compiled apart from http_server.cpp so that the two heavy
// instantiations build in parallel.
#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "ferry/core/error_codes.hpp"
#include "session.hpp"

namespace ferry::server::detail {

namespace ssl = net::ssl;

Expected<std::shared_ptr<ssl::context>> make_tls_context(const std::string& cert_file,
                                                         const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1) {
    return Error{codes::kInternalError, "TLS: cannot require TLS 1.2"};
  }
  beast::error_code ec;
  if (ctx->use_certificate_chain_file(cert_file, ec); ec) {
    return Error{codes::kInvalidParameterValue,
                 "TLS certificate " + cert_file + ": " + ec.message()};
  }
  if (ctx->use_private_key_file(key_file, ssl::context::pem, ec); ec) {
    return Error{codes::kInvalidParameterValue, "TLS key " + key_file + ": " + ec.message()};
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Error{codes::kInvalidParameterValue,
                 "TLS key " + key_file + " does not match certificate " + cert_file};
  }
  return ctx;
}

task<void> run_tls_session(ServerCore& core, ssl::context& ctx, stream_type stream,
                           ConnectionInfo info) {
  co_await net::this_coro::throw_if_cancelled(false);
  auto cs = co_await net::this_coro::cancellation_state;
  beast::flat_buffer buffer(connection_buffer_limit(core.options));
  ssl::stream<stream_type> tls(std::move(stream), ctx);
  auto& lowest = beast::get_lowest_layer(tls);
  if (cancelled(cs) || core.stopping.load()) {
    co_return;
  }
  lowest.expires_after(core.options.header_timeout);
  auto [ec] = co_await tls.async_handshake(ssl::stream_base::server);
  if (ec) {
    spdlog::debug("https {}: handshake: {}", info.remote_address, ec.message());
    co_return;
  }
  if (cancelled(cs) || core.stopping.load()) {
    co_return;
  }
  co_await serve_http(tls, buffer, core, info);
  if (!lowest.socket().is_open() || cancelled(cs)) {
    co_return;
  }
  // close_notify; many clients just drop the connection, so do not wait for theirs for long.
  lowest.expires_after(std::chrono::seconds(2));
  auto [sec] = co_await tls.async_shutdown();
  if (sec && sec != ssl::error::stream_truncated) {
    spdlog::debug("https {}: shutdown: {}", info.remote_address, sec.message());
  }
}

}  // namespace ferry::server::detail
