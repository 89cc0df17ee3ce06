// http/server.h: an HTTP/1.1 server on Boost.Beast for the portal and the metrics
// listeners: one session per connection, handlers on a worker pool, optional TLS.
//
// Contract: a Server listens on one address ("127.0.0.1:8080", "[::1]:0"; port 0: any free
// port, port() says which) on the caller's io_context, which the caller runs (one thread or
// several: each session keeps to its own strand). A request is read header first, within
// `header_limit`; then the body, within the limit `body_limit_for` gives for that header
// (64 KiB when unset). The whole request must arrive within `read_timeout` of its first byte
// (slowloris); a kept-alive connection waits at most `idle_timeout` for the next request's
// first byte. The Handler runs on a pool of `workers` threads, never on the io_context's
// threads, because it may block on the store; several run at once, so it must be
// thread-safe. The session waits for its answer asynchronously and writes it on its own
// strand with a Content-Length. HEAD is handed to the handler as GET (so GET and HEAD do
// the same, and neither may change state) and answered without the body. stop() stops
// accepting and closes every session; after it (and in the destructor, which calls it and
// waits for running handlers) no handler is called and the Metrics are no longer touched.
//
// Diagnostics: start() says why it cannot listen (a bad address, the address in use, an
// unreadable certificate or key). The server answers by itself: 400 and close for a
// request that does not parse, 413 for a body over its limit, 431 for a header over
// header_limit, 503 and close for a connection over max_connections, 500 for a handler
// that threw (logged with the request's target, never its body). A session that fails is
// logged at debug and closed; it never stops the server. With a Metrics registry it counts
// `http_requests_total{status="..."}` and the gauge `http_connections_open`.
//
// Security: every read and write has a timeout; sizes are bounded before memory is
// spent on them; `peer` is the TCP peer's address (a proxy's, behind one: the handler
// decides whether to trust X-Forwarded-For, http/parse.h). Logs never carry bodies,
// cookies or query strings.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace sd::http {

class Metrics;

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// What a handler is given: the request (HEAD arrives as GET) and who sent it.
struct Exchange {
  const Request& request;
  std::string peer;  // the TCP peer's address, no port ("127.0.0.1", "::1")
};

using Handler = std::function<Response(const Exchange&)>;

struct ServerOptions {
  std::string listen;  // "127.0.0.1:8080", "[::1]:0" (0: any free port)
  int workers = 4;     // threads that run the handler
  std::size_t header_limit = 16 << 10;
  // The body limit for a request, chosen once its header is read; unset: 64 KiB. The portal
  // raises it for uploads.
  std::function<std::size_t(const boost::beast::http::request_header<>&)> body_limit_for;
  std::chrono::seconds read_timeout{10};   // the whole request, body included, from its first byte
  std::chrono::seconds idle_timeout{30};   // waiting for a request's first byte (keep-alive)
  std::chrono::seconds write_timeout{60};  // writing one response (a download on a slow link)
  std::size_t max_connections = 512;
  // Both: HTTPS (OpenSSL via boost::asio::ssl, TLS 1.2 or later); neither: plain HTTP.
  std::string tls_certificate_file, tls_key_file;  // PEM; the certificate file may hold the chain
  std::string name = "portal";  // for logs
};

// A response with `body` of `content_type`, version and keep-alive taken from the request.
// The server sets Content-Length itself.
Response make_response(const Request& request, boost::beast::http::status status, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8");

class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, Handler handler, Metrics* metrics = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting; says why it cannot (address in use, bad address, unreadable
  // certificate or key). Once only.
  tl::expected<void, std::string> start();
  unsigned short port() const;  // the bound port; 0 before start()
  // Stops accepting and closes every session; thread-safe, idempotent.
  void stop();

  struct State;  // shared with the sessions (http/server.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sd::http
