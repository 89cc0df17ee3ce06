// http/server.cpp: the HTTP/1.1 server; see server.h for the contract.
//
// Shape (after Beast's examples): an acceptor on its own strand; one Session per connection,
// on a strand of its own, kept alive by shared_from_this while an operation or a handler's
// answer is pending. A request's life: wait up to idle_timeout for its first byte
// (do_wait_request), then read its header (do_read_header) and its body (do_read_body)
// within read_timeout of that byte, hand it to the worker pool (do_dispatch), take the
// answer back on the session's strand (on_handled), write it within write_timeout
// (do_write), and either wait for the next request or close.
//
// Lifetimes: the State (options, handler, pool, session list, counters) is shared by the
// Server and every Session. The pool is only posted to under the State's lock while not
// stopped, and the Server joins it in its destructor before it lets go of the State, so
// a pool thread never holds the last reference to it (which would join itself). The
// Metrics pointer is cleared by stop(): sessions that end later count nothing.
//
// Closing: after a response that ends the connection (an error, Connection: close, a 413)
// the session shuts down its sending side and reads what the client still sends for a
// moment (at most 1 MiB, 2 s) before it closes; closing with unread bytes would make the
// kernel answer with a reset that can destroy the response before the client reads it.
#include "http/server.h"

#include "core/log.h"
#include "http/metrics.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <fmt/format.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <type_traits>

namespace sd::http {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t default_body_limit = 64 << 10;
constexpr std::size_t linger_max_bytes = 1 << 20;
constexpr std::chrono::seconds linger_time{2};
constexpr std::chrono::seconds refusal_timeout{5};
constexpr std::size_t max_refusals_in_flight = 64;  // 503s being written; beyond them: closed at once

bool is_http_error(const error_code& ec) {
  return &ec.category() == &bhttp::make_error_code(bhttp::error::bad_target).category();
}

// The path of a target without its query: query strings may carry what logs must not.
std::string path_of(beast::string_view target) {
  auto path = target.substr(0, target.find('?'));
  return std::string(path.data(), path.size());
}

std::string address_text(const net::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// "host:port" or "[v6]:port" into its two parts.
tl::expected<std::pair<std::string, std::string>, std::string> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size())
    return tl::unexpected(fmt::format("\"{}\" is not HOST:PORT like \"127.0.0.1:8080\"", listen));
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return tl::unexpected(fmt::format("\"{}\": an IPv6 address goes in brackets, like \"[::1]:8080\"", listen));
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoul(port) > 65535)
    return tl::unexpected(fmt::format("\"{}\": the port is not a number from 0 to 65535", listen));
  return std::pair{host, port};
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;  // from any thread
};

}  // namespace

struct Server::State {
  State(net::io_context& io_, ServerOptions o, Handler h, Metrics* m)
      : io(io_), options(std::move(o)), handler(std::move(h)), acceptor(net::make_strand(io_)), metrics(m) {}

  net::io_context& io;
  const ServerOptions options;
  const Handler handler;
  std::optional<ssl::context> tls;
  tcp::acceptor acceptor;  // its strand only
  std::optional<net::steady_timer> accept_retry;  // after EMFILE and the like; the acceptor's strand
  unsigned short port = 0;

  std::mutex mutex;  // guards what follows
  std::unique_ptr<net::thread_pool> pool;  // joined by ~Server
  bool started = false, stopped = false;
  Metrics* metrics;  // null once stopped
  std::size_t open = 0, refusals = 0;
  std::uint64_t next_id = 0;
  std::map<std::uint64_t, std::weak_ptr<SessionBase>> sessions;

  // Lock held.
  void gauge_open() {
    if (metrics) metrics->set("http_connections_open", static_cast<double>(open));
  }
  void count_status(unsigned status) {
    std::lock_guard lock(mutex);
    if (metrics) metrics->add("http_requests_total", {{"status", std::to_string(status)}});
  }
};

namespace {

using State = Server::State;

template <class Stream>
constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  // `refuse`: over the connection cap; answered 503 without reading a request.
  template <class... StreamArgs>
  Session(std::shared_ptr<State> state, std::uint64_t id, bool refuse, std::string peer, StreamArgs&&... args)
      : state_(std::move(state)),
        id_(id),
        refuse_(refuse),
        peer_(std::move(peer)),
        stream_(std::forward<StreamArgs>(args)...),
        buffer_(state_->options.header_limit + 4096) {}

  ~Session() override {
    std::lock_guard lock(state_->mutex);
    if (refuse_) {
      --state_->refusals;
      return;
    }
    state_->sessions.erase(id_);
    --state_->open;
    state_->gauge_open();
  }

  void run() {
    if constexpr (is_tls<Stream>) {
      lowest().expires_after(state_->options.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) { self->on_handshake(ec); });
    } else {
      start();
    }
  }

  void close() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->lowest().close(); });
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const ServerOptions& options() const { return state_->options; }

  void on_handshake(error_code ec) {
    if (ec) return fail("TLS handshake", ec);
    start();
  }

  void start() {
    if (refuse_) {
      Request none;
      respond_by_ourselves(none, bhttp::status::service_unavailable, "too many connections, try again later\n");
      return;
    }
    do_wait_request();
  }

  // A kept-alive connection may wait idle_timeout for the next request; once its first
  // byte is here, the whole request has read_timeout.
  void do_wait_request() {
    if (buffer_.size() > 0) return do_read_header();  // pipelined: already here
    lowest().expires_after(options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](error_code ec, std::size_t n) {
      self->on_first_bytes(ec, n);
    });
  }

  void on_first_bytes(error_code ec, std::size_t n) {
    if (ec) return fail("waiting for a request", ec);
    buffer_.commit(n);
    do_read_header();
  }

  void do_read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(options().header_limit, UINT32_MAX)));
    // The real limit is chosen from the header (on_read_header); Beast checks a
    // Content-Length against the limit already while reading the header, so it must not
    // refuse before we have chosen.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    lowest().expires_after(options().read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_, [self = this->shared_from_this()](error_code ec, std::size_t) {
      self->on_read_header(ec);
    });
  }

  void on_read_header(error_code ec) {
    if (ec) return on_read_error(ec, "reading a request's header");
    const auto& header = parser_->get();
    std::size_t limit = default_body_limit;
    if (options().body_limit_for) {
      try {
        limit = options().body_limit_for(header);
      } catch (const std::exception& e) {
        log::error("{}: choosing the body limit for {} {} failed: {}", options().name, std::string(header.method_string()),
                   path_of(header.target()), e.what());
        return respond_by_ourselves(header, bhttp::status::internal_server_error, "internal error\n");
      }
    }
    if (auto length = parser_->content_length(); length && *length > limit)
      return respond_by_ourselves(header, bhttp::status::payload_too_large, "request body too large\n");
    parser_->body_limit(limit);  // a chunked body is checked chunk by chunk against what is left
    auto expect = header[bhttp::field::expect];
    if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(go_on.data(), go_on.size()),
                       [self = this->shared_from_this()](error_code ec2, std::size_t) {
                         if (ec2) return self->fail("writing 100 Continue", ec2);
                         self->do_read_body();
                       });
      return;
    }
    do_read_body();
  }

  void do_read_body() {
    // The deadline set for the header still runs: the whole request within read_timeout.
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec) return on_read_error(ec, "reading a request's body");
    do_dispatch();
  }

  void on_read_error(error_code ec, const char* what) {
    if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow ||
        ec == net::error::no_buffer_space)
      return respond_by_ourselves(parser_->get(), bhttp::status::request_header_fields_too_large, "request header too large\n");
    if (ec == bhttp::error::body_limit)
      return respond_by_ourselves(parser_->get(), bhttp::status::payload_too_large, "request body too large\n");
    if (is_http_error(ec) && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      log::debug("{}: a malformed request from {}: {}", options().name, peer_, ec.message());
      return respond_by_ourselves(parser_->get(), bhttp::status::bad_request, "bad request\n");
    }
    fail(what, ec);
  }

  void do_dispatch() {
    request_ = parser_->release();
    parser_.reset();
    head_ = request_.method() == bhttp::verb::head;
    if (head_) request_.method(bhttp::verb::get);
    std::lock_guard lock(state_->mutex);
    if (state_->stopped || !state_->pool) return;  // closed by stop(); this session ends
    net::post(*state_->pool, [self = this->shared_from_this()] {
      Response response = self->call_handler();
      net::post(self->stream_.get_executor(),
                [self, response = std::move(response)]() mutable { self->on_handled(std::move(response)); });
    });
  }

  // On a pool thread. The request is not touched on the strand until the answer is posted.
  Response call_handler() {
    try {
      return state_->handler(Exchange{request_, peer_});
    } catch (const std::exception& e) {
      log::error("{}: {} {} from {} failed: {}", options().name, std::string(request_.method_string()),
                 path_of(request_.target()), peer_, e.what());
    } catch (...) {
      log::error("{}: {} {} from {} failed: an unknown exception", options().name, std::string(request_.method_string()),
                 path_of(request_.target()), peer_);
    }
    return make_response(request_, bhttp::status::internal_server_error, "internal error\n");
  }

  void on_handled(Response response) {
    bool keep = request_.keep_alive() && response.keep_alive();
    do_write(std::move(response), request_.version(), keep);
  }

  // An answer the server gives itself (a request it will not read on): then close.
  void respond_by_ourselves(const bhttp::request_header<>& header, bhttp::status status, std::string body) {
    head_ = header.method() == bhttp::verb::head;
    Response response(status, header.version() == 10 ? 10 : 11);
    response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    response.body() = std::move(body);
    unsigned version = response.version();
    do_write(std::move(response), version, false);
  }

  void do_write(Response response, unsigned version, bool keep) {
    response.version(version);
    response.keep_alive(keep);
    response.prepare_payload();
    if (head_) {
      // HEAD: the same header as GET's, Content-Length included, and no body.
      auto length = response.body().size();
      response.body().clear();
      if (response.result() != bhttp::status::no_content && response.result() != bhttp::status::not_modified)
        response.content_length(length);
    }
    state_->count_status(response.result_int());
    response_ = std::move(response);
    lowest().expires_after(refuse_ ? refusal_timeout : options().write_timeout);
    bhttp::async_write(stream_, *response_, [self = this->shared_from_this(), keep](error_code ec, std::size_t) {
      self->on_write(ec, keep);
    });
  }

  void on_write(error_code ec, bool keep) {
    response_.reset();
    request_ = {};
    if (ec) return fail("writing a response", ec);
    if (keep) return do_wait_request();
    do_close();
  }

  void do_close() {
    lowest().expires_after(linger_time);
    if constexpr (is_tls<Stream>) {
      stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->lowest().close(); });
    } else {
      error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      do_linger();
    }
  }

  void do_linger() {
    buffer_.consume(buffer_.size());  // a pipelined request no one will answer
    stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](error_code ec, std::size_t n) {
      self->lingered_ += n;
      if (ec || self->lingered_ > linger_max_bytes) return self->lowest().close();
      self->do_linger();  // buffer_ is never committed: the bytes are dropped
    });
  }

  void fail(const char* what, error_code ec) {
    // The client went away, timed out or was closed by stop(): routine, not an error.
    if (ec != net::error::operation_aborted)
      log::debug("{}: connection from {} closed while {}: {}", options().name, peer_, what, ec.message());
    lowest().close();
  }

  std::shared_ptr<State> state_;
  const std::uint64_t id_;
  const bool refuse_;
  const std::string peer_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  std::optional<Response> response_;
  bool head_ = false;
  std::size_t lingered_ = 0;
};

void do_accept(const std::shared_ptr<State>& state);

void on_accept(const std::shared_ptr<State>& state, error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted) return;
  if (ec) {
    // EMFILE and the like: the server keeps going, a moment later.
    log::warning("{}: accepting a connection failed: {}", state->options.name, ec.message());
    state->accept_retry.emplace(state->acceptor.get_executor());
    state->accept_retry->expires_after(std::chrono::milliseconds(200));
    state->accept_retry->async_wait([state](error_code wait_ec) {
      if (!wait_ec) do_accept(state);
    });
    return;
  }
  error_code peer_ec;
  auto endpoint = socket.remote_endpoint(peer_ec);
  std::string peer = peer_ec ? std::string() : address_text(endpoint.address());

  bool refuse = false;
  std::uint64_t id = 0;
  {
    std::lock_guard lock(state->mutex);
    if (state->stopped) return;  // the socket closes here
    if (state->open >= state->options.max_connections) {
      if (state->refusals >= max_refusals_in_flight) {
        do_accept(state);
        return;  // closed without a word: a flood gets no more than that
      }
      ++state->refusals;
      refuse = true;
    } else {
      ++state->open;
      state->gauge_open();
      id = ++state->next_id;
    }
  }
  if (refuse) log::warning("{}: {} connections open, refusing one from {}", state->options.name, state->options.max_connections, peer);

  auto admit = [&](auto session) {
    if (!refuse) {
      std::lock_guard lock(state->mutex);
      if (state->stopped) return;  // stop() came in between: the session ends unheard
      state->sessions.emplace(id, session);
    }
    session->run();
  };
  if (state->tls)
    admit(std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(state, id, refuse, peer, std::move(socket), *state->tls));
  else
    admit(std::make_shared<Session<beast::tcp_stream>>(state, id, refuse, peer, std::move(socket)));
  do_accept(state);
}

void do_accept(const std::shared_ptr<State>& state) {
  // Each connection gets a strand of its own.
  state->acceptor.async_accept(net::make_strand(state->io), [state](error_code ec, tcp::socket socket) {
    on_accept(state, ec, std::move(socket));
  });
}

tl::expected<void, std::string> load_tls(State& state) {
  const auto& o = state.options;
  if (o.tls_certificate_file.empty() != o.tls_key_file.empty())
    return tl::unexpected(std::string("TLS needs both a certificate file and a key file, or neither"));
  if (o.tls_certificate_file.empty()) return {};
  ssl::context ctx(ssl::context::tls_server);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx.native_handle(), o.tls_certificate_file.c_str()) != 1)
    return tl::unexpected(fmt::format("the TLS certificate {} cannot be read: {}", o.tls_certificate_file, openssl_error()));
  if (SSL_CTX_use_PrivateKey_file(ctx.native_handle(), o.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return tl::unexpected(fmt::format("the TLS key {} cannot be read: {}", o.tls_key_file, openssl_error()));
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    return tl::unexpected(fmt::format("the TLS key {} does not belong to the certificate {}: {}", o.tls_key_file,
                                      o.tls_certificate_file, openssl_error()));
  state.tls.emplace(std::move(ctx));
  return {};
}

}  // namespace

Response make_response(const Request& request, bhttp::status status, std::string body, std::string_view content_type) {
  Response response(status, request.version() == 10 ? 10 : 11);
  response.set(bhttp::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Server::Server(net::io_context& io, ServerOptions options, Handler handler, Metrics* metrics)
    : state_(std::make_shared<State>(io, std::move(options), std::move(handler), metrics)) {
  if (metrics) {
    metrics->describe("http_requests_total", MetricType::counter, "HTTP requests answered, by status");
    metrics->describe("http_connections_open", MetricType::gauge, "HTTP connections open now");
    metrics->set("http_connections_open", 0);
  }
}

Server::~Server() {
  stop();
  std::unique_ptr<net::thread_pool> pool;
  {
    std::lock_guard lock(state_->mutex);
    pool = std::move(state_->pool);
  }
  if (pool) pool->join();  // handlers still running finish; their answers go nowhere
}

tl::expected<void, std::string> Server::start() {
  State& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    if (s.started) return tl::unexpected(std::string("the server was started before"));
    s.started = true;
  }
  auto fail = [&](std::string why) { return tl::unexpected(fmt::format("{}: cannot listen on {}: {}", s.options.name, s.options.listen, why)); };
  auto parts = split_listen(s.options.listen);
  if (!parts) return fail(parts.error());
  if (auto tls = load_tls(s); !tls) return fail(tls.error());

  error_code ec;
  tcp::resolver resolver(s.io);
  auto endpoints = resolver.resolve(parts->first, parts->second, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) return fail(fmt::format("the address does not resolve: {}", ec ? ec.message() : "no address"));
  tcp::endpoint endpoint = endpoints.begin()->endpoint();

  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    s.acceptor.close(ignored);
    return fail(ec.message());
  }
  s.port = s.acceptor.local_endpoint(ec).port();
  {
    std::lock_guard lock(s.mutex);
    s.pool = std::make_unique<net::thread_pool>(static_cast<std::size_t>(std::max(1, s.options.workers)));
  }
  log::info("{}: listening on {} (port {}){}", s.options.name, s.options.listen, s.port, s.tls ? ", TLS" : "");
  net::post(s.acceptor.get_executor(), [state = state_] { do_accept(state); });
  return {};
}

unsigned short Server::port() const { return state_->port; }

void Server::stop() {
  std::vector<std::shared_ptr<SessionBase>> open;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopped) return;
    state_->stopped = true;
    state_->metrics = nullptr;
    for (auto& [id, weak] : state_->sessions)
      if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  net::post(state_->acceptor.get_executor(), [state = state_] {
    error_code ignored;
    state->acceptor.close(ignored);
    if (state->accept_retry) state->accept_retry->cancel();
  });
  for (auto& s : open) s->close();
}

}  // namespace sd::http
